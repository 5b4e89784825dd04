"""Changing a dataset after it was created: its description, privacy, collaborators, deletion.

Every change is written to `dataset_events` in the same transaction as the change itself (who,
when, what, the value before and after), so the history cannot miss one or show one that was
rolled back. Functions flush, never commit.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError
from sqlalchemy import delete, func, select, text

from fairdb.extensions import db
from fairdb.models import (
    TYPED_COLUMNS,
    AbundanceTable,
    Collaborator,
    Dataset,
    DatasetEvent,
    Feature,
    Membership,
    Privacy,
    Sample,
    SampleTotal,
    Upload,
    User,
)
from fairdb.schemas.sample import sample_schema
from fairdb.services import export, search_index

# Fields an editor may change, with how a value is shown in the history.
EDITABLE = ("title", "description", "creators", "keywords", "license")


class CurationError(ValueError):
    """A change that cannot be made, with the reason in words for the form."""


def record(
    dataset_id: int,
    user: User | None,
    action: str,
    target: str = "",
    old: Any = None,
    new: Any = None,
) -> DatasetEvent:
    event = DatasetEvent(
        dataset_id=dataset_id,
        user_id=user.id if user is not None else None,
        action=action,
        target=target[:400],
        old_value=old,
        new_value=new,
    )
    db.session.add(event)
    return event


def record_upload(
    dataset_id: int, user: User, filename: str, kind: str, stored: int, summary: dict[str, Any]
) -> None:
    """An upload that is about to be committed (samples, or an abundance table)."""
    record(dataset_id, user, f"uploaded {kind}", filename, None, {"stored": stored, **summary})


def update_dataset(dataset: Dataset, user: User, **values: Any) -> list[str]:
    """Set the given fields; record each one that changed. Returns the changed field names."""
    changed = []
    for name in EDITABLE:
        if name not in values:
            continue
        old, new = getattr(dataset, name), values[name]
        if old == new:
            continue
        setattr(dataset, name, new)
        record(dataset.id, user, "edited", name, old, new)
        changed.append(name)
    db.session.flush()
    return changed


def set_privacy(dataset: Dataset, user: User, privacy: Privacy, justification: str = "") -> bool:
    if dataset.privacy is privacy:
        return False
    old = dataset.privacy.value
    dataset.privacy = privacy
    record(dataset.id, user, "privacy changed", justification[:400], old, privacy.value)
    db.session.flush()
    return True


def set_sample_privacy(sample: Sample, user: User, privacy: Privacy | None) -> bool:
    """A sample's own privacy (None: as its dataset). It can only make the sample harder to
    see: the stricter of the sample's and the dataset's applies."""
    if sample.privacy is privacy:
        return False
    old = sample.privacy.value if sample.privacy is not None else None
    sample.privacy = privacy
    record(
        sample.dataset_id,
        user,
        "sample edited",
        f"{sample.samp_name}: privacy",
        old,
        privacy.value if privacy is not None else None,
    )
    db.session.flush()
    if sample.upload_id is not None:
        search_index.rebuild_upload(sample.upload_id)
    return True


class SampleEditError(ValueError):
    """Cells that do not pass the checklist: field -> the message and fix, as an upload says."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def sample_cells(sample: Sample) -> dict[str, str]:
    """A sample's cells as uploaded (own, shared by its upload, or rebuilt), non-empty only."""
    shared = {}
    if sample.upload_id is not None:
        upload = db.session.get(Upload, sample.upload_id)
        shared = upload.shared_cells if upload is not None else {}
    present = {*sample.attributes, *shared} | {
        name for name in export.TYPED_SOURCES if export.canonical(sample, name) is not None
    }
    cells = {name: export.cell(sample, name, shared) for name in present}
    return {name: value for name, value in cells.items() if value}


def edit_sample(dataset: Dataset, sample: Sample, user: User, cells: dict[str, str]) -> list[str]:
    """Replace a sample's cells with `cells` (field -> text; empty removes it), checked by the
    same marshmallow schema as a record upload; every changed cell goes to the history.
    Returns the changed fields; raises SampleEditError naming each bad cell."""
    before = sample_cells(sample)
    after = {name: value.strip() for name, value in cells.items() if value and value.strip()}
    changed = sorted(name for name in {*before, *after} if before.get(name) != after.get(name))
    if not changed:
        return []
    schema = sample_schema(dataset.checklist)()
    try:
        loaded = schema.load(after)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {}
        raise SampleEditError(
            {name: " ".join(map(str, problems)) for name, problems in messages.items()}
        ) from error
    name = after.get("samp_name", "")
    if name != sample.samp_name and db.session.scalar(
        select(Sample.id).where(Sample.dataset_id == dataset.id, Sample.samp_name == name)
    ):
        raise SampleEditError(
            {"samp_name": f"Another sample of this dataset is named {name!r}. Choose another name."}
        )
    for column in TYPED_COLUMNS:
        setattr(sample, column, loaded.get(column))
    # Every cell is kept as written; a cell its upload shares but this sample no longer has
    # is kept as null, so the shared value does not show through.
    shared_keys = set(before) - set(sample.attributes) - set(after)
    sample.attributes = {**after, **{key: None for key in shared_keys}}
    for field_name in changed:
        record(
            dataset.id,
            user,
            "sample edited",
            f"{name}: {field_name}",
            before.get(field_name),
            after.get(field_name),
        )
    db.session.flush()
    search_index.add_terms({column: loaded.get(column) for column in search_index.TERM_FIELDS})
    if sample.upload_id is not None:
        search_index.rebuild_upload(sample.upload_id)
    return changed


def collaborators(dataset: Dataset) -> list[Collaborator]:
    return list(
        db.session.scalars(
            select(Collaborator)
            .where(Collaborator.dataset_id == dataset.id)
            .order_by(Collaborator.created_at, Collaborator.user_id)
        )
    )


def add_collaborator(dataset: Dataset, by: User, email: str, role: Membership) -> Collaborator:
    """Add (or change the role of) a registered user, found by email."""
    address = email.strip().lower()
    user = db.session.scalar(select(User).where(func.lower(User.email) == address))
    if user is None:
        raise CurationError(
            f"No account uses {email.strip()!r}. Ask them to register first, then add them "
            "with the address they registered with."
        )
    if user.id == dataset.owner_id:
        raise CurationError(f"{user.display_name} owns this dataset already.")
    existing = db.session.get(Collaborator, (dataset.id, user.id))
    if existing is not None:
        if existing.role is role:
            raise CurationError(f"{user.display_name} is already a collaborator as {role.value}.")
        record(
            dataset.id,
            by,
            "collaborator role changed",
            user.display_name,
            existing.role.value,
            role.value,
        )
        existing.role = role
        db.session.flush()
        return existing
    member = Collaborator(dataset_id=dataset.id, user_id=user.id, role=role, added_by_id=by.id)
    db.session.add(member)
    record(dataset.id, by, "collaborator added", user.display_name, None, role.value)
    db.session.flush()
    return member


def remove_collaborator(dataset: Dataset, by: User, user_id: int) -> None:
    member = db.session.get(Collaborator, (dataset.id, user_id))
    if member is None:
        raise CurationError("That person is not a collaborator on this dataset.")
    record(dataset.id, by, "collaborator removed", member.user.display_name, member.role.value)
    db.session.delete(member)
    db.session.flush()


def delete_dataset(dataset: Dataset, by: User) -> None:
    """Delete the dataset and everything stored for it; the deletion stays in the history."""
    record(
        dataset.id,
        by,
        "deleted",
        dataset.title,
        {"title": dataset.title, "privacy": dataset.privacy.value},
    )
    tables = list(
        db.session.scalars(select(AbundanceTable.id).where(AbundanceTable.dataset_id == dataset.id))
    )
    for table_id in tables:
        # A table's entries are one partition of `abundances`: dropping it is instant.
        db.session.execute(text(f"DROP TABLE IF EXISTS abundances_{int(table_id)}"))
    if tables:
        db.session.execute(delete(SampleTotal).where(SampleTotal.table_id.in_(tables)))
        db.session.execute(delete(Feature).where(Feature.table_id.in_(tables)))
    # samples carry no foreign key (COPY speed), so they go explicitly.
    db.session.execute(delete(Sample).where(Sample.dataset_id == dataset.id))
    db.session.delete(dataset)  # uploads, tables and collaborators cascade
    db.session.flush()


def history(dataset_id: int, limit: int = 500) -> list[DatasetEvent]:
    return list(
        db.session.scalars(
            select(DatasetEvent)
            .where(DatasetEvent.dataset_id == dataset_id)
            .order_by(DatasetEvent.id.desc())
            .limit(limit)
        )
    )
