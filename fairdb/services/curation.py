"""Changing a dataset after it was created: its description, privacy, collaborators, deletion.

Every change is written to `dataset_events` in the same transaction as the change itself (who,
when, what, the value before and after), so the history cannot miss one or show one that was
rolled back. Functions flush, never commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, text

from fairdb.extensions import db
from fairdb.models import (
    AbundanceTable,
    Collaborator,
    Dataset,
    DatasetEvent,
    Feature,
    Membership,
    Privacy,
    Sample,
    SampleTotal,
    User,
)
from fairdb.services import search_index

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
