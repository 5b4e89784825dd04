"""Anonymised versions of datasets: solve the targets on the dataset's records, preview the
generalised records beside the originals, and store them as a new private dataset (the
original stays untouched)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import select

from fairdb.checklists.bulk import attributes_json, validate_frame
from fairdb.checklists.model import get_checklist
from fairdb.extensions import db
from fairdb.models import Dataset, Sample, Upload, User
from fairdb.services import bulk_export, curation, export
from fairdb.services import datasets as dataset_service
from fairdb.services.column_stats import UploadStats
from fairdb.services.copying import sample_id_mark
from fairdb.services.ingest import SampleCopier
from fairdb.services.privacy import generalise, records, risk
from fairdb.services.privacy.hierarchies import MISSING, SUPPRESSED
from fairdb.services.search_index import UploadIndex

# Fields that name a person or a sample directly: never copied into an anonymised version
# (sample names are replaced by new ones in a random order).
DIRECT_IDENTIFIERS = ("host_subject_id", "samp_name", "source_mat_id", "orig_samp_name")


def solve(frame: pl.DataFrame, choice: records.Choice, targets: generalise.Targets) -> Any:
    """The least-loss generalisation of the records that meets the targets."""
    quasi, attributes = list(choice.quasi), choice.attributes()
    summary = risk.summarise(frame, quasi, attributes)
    return generalise.search(summary, choice.hierarchies(), attributes, targets)


@dataclass
class Preview:
    """The first records before and after: `after` is None for a suppressed record."""

    columns: list[str]
    rows: list[tuple[list[str], list[str] | None]]
    suppressed: int


def preview(frame: pl.DataFrame, choice: records.Choice, solution: Any, count: int = 20) -> Preview:
    columns = [*choice.quasi, *choice.sensitive]
    released = generalise.apply(frame.select(columns), solution, choice.hierarchies())
    after = {
        row[generalise.INPUT_ROW]: [_shown(row[c]) for c in columns]
        for row in released.filter(pl.col(generalise.INPUT_ROW) < count).iter_rows(named=True)
    }
    rows = [
        ([_shown(v) for v in values], after.get(position))
        for position, values in enumerate(frame.select(columns).head(count).iter_rows())
    ]
    return Preview(columns, rows, frame.height - released.height)


def _shown(value: Any) -> str:
    return MISSING if value is None else str(value)


def _cell(name: str, value: pl.Expr) -> pl.Expr:
    """A generalised quasi-identifier as the cell the new version stores ('' for no value)."""
    text = pl.when(value.is_in([MISSING, SUPPRESSED])).then(pl.lit("")).otherwise(value)
    if name == "host_age":  # bands and top codes are in years
        text = pl.when(text == "").then(text).otherwise(text + pl.lit(" years"))
    if name == "lat_lon":  # the hierarchy writes "lat,lon"; MIxS writes "lat lon"
        text = text.str.replace(",", " ", literal=True)
    return text.alias(name)


def save(
    dataset: Dataset, user: User, title: str, choice: records.Choice, solution: Any
) -> Dataset:
    """A new private dataset owned by `user` holding the generalised samples: quasi-identifiers
    at the solution's levels, suppressed records left out, direct identifiers removed, every
    other cell as uploaded. Flushes, never commits."""
    columns = [c for c in export.export_columns(dataset) if c not in DIRECT_IDENTIFIERS]
    frame = records.dataset_records(dataset.id, choice)
    released = generalise.apply(frame, solution, choice.hierarchies()).select(
        "id", *[_cell(name, pl.col(name)) for name in choice.quasi]
    )
    statement = select(Sample.id.label("id")).where(Sample.dataset_id == dataset.id)
    cells = bulk_export.frame(statement, {"id": pl.Int64}, columns)
    kept = [c for c in columns if c not in choice.quasi]
    joined = released.join(cells.select("id", *kept), on="id", how="left")
    # A random order, so the new names and the row order say nothing about the original.
    joined = joined.sample(fraction=1.0, shuffle=True).with_row_index("number", offset=1)
    named = joined.with_columns(
        pl.format("anon-{}", pl.col("number").cast(pl.String).str.zfill(6)).alias("samp_name")
    ).select("samp_name", *[c for c in columns if c != "samp_name"])
    version = dataset_service.create_dataset(
        user,
        title=title.strip()[:300] or f"{dataset.title} (anonymised)",
        description=_description(dataset, solution),
        creators=dataset.creators,
        keywords=dataset.keywords,
        license=dataset.license,
        checklist=dataset.checklist,
    )
    version.derived_from_id = dataset.id
    _store(version, user, named)
    levels = dict(zip(solution.quasi, solution.labels, strict=True))
    summary = {"dataset": version.id, "levels": levels, "suppressed": solution.suppressed}
    curation.record(dataset.id, user, "anonymised version saved", version.title, None, summary)
    return version


def _description(dataset: Dataset, solution: Any) -> str:
    levels = ", ".join(
        f"{name}: {label}" for name, label in zip(solution.quasi, solution.labels, strict=True)
    )
    return (
        f"An anonymised version of dataset {dataset.id} ({dataset.title}). Generalised to "
        f"k = {solution.targets.k} ({levels}); {solution.suppressed} records suppressed; sample "
        "names replaced and direct identifiers removed.\n\n" + dataset.description
    ).strip()


def _store(version: Dataset, user: User, cells: pl.DataFrame) -> None:
    """COPY the records into samples with their typed values where the cells still parse
    (a band like '30-34 years' does not: its cell is kept, its typed value is empty)."""
    checklist = get_checklist(version.checklist)
    upload = Upload(
        dataset_id=version.id,
        filename="anonymised.csv",
        size_bytes=0,
        sha256="",
        row_count=cells.height,
        uploaded_by_id=user.id,
    )
    db.session.add(upload)
    db.session.flush()
    text = cells.with_columns(pl.all().cast(pl.String))
    extras = [c for c in text.columns if c not in {f.name for f in checklist.fields}]
    checked = validate_frame(text, checklist, extra_columns=extras)
    upload.first_sample_id = sample_id_mark()
    copier = SampleCopier(version.id, upload.id)
    try:
        copier.feed(checked.typed.with_columns(attributes_json(text)))
        copier.finish()
    except BaseException:
        copier.abort()
        raise
    upload.last_sample_id = sample_id_mark()
    index, stats = UploadIndex(), UploadStats()
    index.add(checked.typed)
    stats.add(text)
    index.write(version.id, upload.id)
    upload.column_stats = stats.result()
    db.session.flush()
