"""Datasets: creating and describing them (title, creators, keywords, license, privacy)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Text, func, or_, select

from fairdb.checklists.model import get_checklist
from fairdb.extensions import db
from fairdb.models import LICENSES, AbundanceTable, Dataset, Privacy, Upload, User
from fairdb.services import access, column_stats
from fairdb.services.curation import record

ORCID = re.compile(r"^(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")


class DatasetError(ValueError):
    """A description that cannot be stored; the message says which field and how to fix it."""


def orcid_checksum_ok(orcid: str) -> bool:
    """ISO 7064 11,2 check digit, as ORCID computes it."""
    digits = orcid.replace("-", "")
    total = 0
    for char in digits[:-1]:
        total = (total + int(char)) * 2
    check = (12 - total % 11) % 11
    return digits[-1] == ("X" if check == 10 else str(check))


def parse_creators(text: str) -> list[dict[str, Any]]:
    """One creator per line: `Name; ORCID; Affiliation` (ORCID and affiliation optional)."""
    creators = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split(";")]
        name = parts[0]
        if not name:
            raise DatasetError(
                f"Creator line {number} has no name: write 'Name; ORCID; Affiliation'."
            )
        orcid = parts[1] if len(parts) > 1 and parts[1] else None
        if orcid is not None:
            found = ORCID.match(orcid)
            if found is None or not orcid_checksum_ok(found.group(1)):
                raise DatasetError(
                    f"Creator line {number}: '{orcid}' is not a valid ORCID iD; write it like "
                    "0000-0002-1825-0097 (16 digits, the last may be X)."
                )
            orcid = found.group(1)
        affiliation = "; ".join(parts[2:]).strip() or None if len(parts) > 2 else None
        creators.append({"name": name, "orcid": orcid, "affiliation": affiliation})
    return creators


def format_creators(creators: list[dict[str, Any]]) -> str:
    lines = []
    for creator in creators:
        parts = [creator["name"], creator.get("orcid") or "", creator.get("affiliation") or ""]
        lines.append("; ".join(parts).rstrip("; "))
    return "\n".join(lines)


def parse_keywords(text: str) -> list[str]:
    seen: dict[str, str] = {}
    for keyword in re.split(r"[,;\n]", text):
        cleaned = " ".join(keyword.split())[:100]
        if cleaned and cleaned.lower() not in seen:
            seen[cleaned.lower()] = cleaned
    return list(seen.values())


def create_dataset(
    owner: User,
    *,
    title: str,
    description: str = "",
    creators: list[dict[str, Any]] | None = None,
    keywords: list[str] | None = None,
    license: str = "CC-BY-4.0",
    privacy: Privacy = Privacy.PRIVATE,
    checklist: str,
) -> Dataset:
    if license not in LICENSES:
        raise DatasetError(f"Unknown license {license!r}: choose one of {', '.join(LICENSES)}.")
    dataset = Dataset(
        title=title.strip(),
        description=description.strip(),
        creators=creators or [{"name": owner.display_name, "orcid": None, "affiliation": None}],
        keywords=keywords or [],
        license=license,
        privacy=privacy,
        checklist=checklist,
        owner=owner,
    )
    db.session.add(dataset)
    db.session.flush()
    created = {"title": dataset.title, "privacy": privacy.value}
    record(dataset.id, owner, "created", "", None, created)
    return dataset


def sample_count(dataset_id: int) -> int:
    """Samples stored in the dataset (its catalogue count), from its uploads' row counts."""
    count = db.session.scalar(
        select(func.sum(Upload.row_count)).where(
            Upload.dataset_id == dataset_id, Upload.kind == "samples"
        )
    )
    return int(count or 0)


def sample_counts() -> Any:
    """A subquery of (dataset_id, samples) for every dataset with sample uploads."""
    return (
        select(Upload.dataset_id, func.sum(Upload.row_count).label("samples"))
        .where(Upload.kind == "samples")
        .group_by(Upload.dataset_id)
        .subquery()
    )


def table_of(dataset: Dataset, table_id: int) -> AbundanceTable | None:
    """One stored abundance table of the dataset, or None (another dataset's is None too)."""
    table = db.session.get(AbundanceTable, table_id)
    return table if table is not None and table.dataset_id == dataset.id else None


def uploads_of(dataset_id: int) -> list[Upload]:
    return list(
        db.session.scalars(
            select(Upload).where(Upload.dataset_id == dataset_id).order_by(Upload.id.desc())
        )
    )


def tables_of(dataset_id: int) -> list[AbundanceTable]:
    return list(
        db.session.scalars(
            select(AbundanceTable)
            .where(AbundanceTable.dataset_id == dataset_id)
            .order_by(AbundanceTable.id)
        )
    )


def column_statistics(dataset: Dataset) -> dict[str, Any] | None:
    """The dataset's per-column statistics in checklist order (then extra columns), merged from
    its sample uploads; None when an upload predates them (migration 0007)."""
    uploads = list(
        db.session.scalars(
            select(Upload).where(Upload.dataset_id == dataset.id, Upload.kind == "samples")
        )
    )
    if not uploads or any(u.row_count and not u.column_stats for u in uploads):
        return None
    merged = column_stats.merge([u.column_stats for u in uploads])
    order = {spec.name: i for i, spec in enumerate(get_checklist(dataset.checklist).fields)}
    names = sorted(merged["columns"], key=lambda n: (n != "samp_name", order.get(n, len(order)), n))
    merged["columns"] = {name: merged["columns"][name] for name in names}
    return merged


def find_datasets(
    user: Any, words: str, chosen: dict[str, str], page: int, per_page: int
) -> tuple[int, list[Any]]:
    """The datasets the user may know of that match the words (title, description, keywords,
    creators) and filters (license, checklist, keyword, privacy), newest change first: the
    total and one page of (dataset, sample count) rows."""
    counts = sample_counts()
    query = (
        select(Dataset, func.coalesce(counts.c.samples, 0))
        .outerjoin(counts, counts.c.dataset_id == Dataset.id)
        .where(access.visible_datasets(user))
    )
    for word in words.split()[:10]:
        pattern = "%" + re.sub(r"([%_\\])", r"\\\1", word) + "%"
        query = query.where(
            or_(
                Dataset.title.ilike(pattern),
                Dataset.description.ilike(pattern),
                func.array_to_string(Dataset.keywords, " ").ilike(pattern),
                func.cast(Dataset.creators, Text).ilike(pattern),
            )
        )
    if chosen.get("license"):
        query = query.where(Dataset.license == chosen["license"])
    if chosen.get("checklist"):
        query = query.where(Dataset.checklist == chosen["checklist"])
    if chosen.get("keyword"):
        query = query.where(Dataset.keywords.contains([chosen["keyword"]]))
    if chosen.get("privacy") in {p.value for p in Privacy}:
        query = query.where(Dataset.privacy == Privacy(chosen["privacy"]))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.execute(
        query.order_by(Dataset.updated_at.desc(), Dataset.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return total, list(rows)
