"""Abundance ingest: read a feature table, check it against the dataset's samples, COPY it.

Same rules as sample uploads: all or nothing (the caller commits only an ok result), the same
report of problems (row, column, value, what is wrong, the fix), SHA-256 against repeated files.
Entries are loaded feature by feature, so the primary key of `abundances` grows at its right
edge during COPY.
"""

from __future__ import annotations

import difflib
import io
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import select

from fairdb.abundance.lineage import RANKS, parse_lineages
from fairdb.abundance.reader import (
    FeatureTable,
    is_biom,
    read_biom,
    read_sheet,
    read_taxonomy,
)
from fairdb.extensions import db
from fairdb.models import AbundanceTable, Dataset, Sample, Upload, User
from fairdb.services.ingest import IngestResult, Problem, duplicate_file_problem, file_digest
from fairdb.services.tables import TableError

ORIENTATIONS = ("auto", "features-as-rows", "samples-as-rows")
COPY_SLICE = 100_000
FEATURE_COLUMNS = (
    "table_id",
    "dataset_id",
    "feature_id",
    "lineage",
    "sequence",
    *[f"tax_{rank}" for rank in RANKS],
)


def ingest_abundance(
    dataset: Dataset,
    path: Path,
    filename: str,
    user: User,
    *,
    orientation: str = "auto",
    taxonomy: tuple[Path, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Check a feature table and stage it into `features` and `abundances`. Flushes, never
    commits; on a result that is not ok the caller must roll back."""
    digest, size = file_digest(path)
    earlier = db.session.scalar(
        select(Upload).where(Upload.dataset_id == dataset.id, Upload.sha256 == digest)
    )
    if earlier is not None:
        result = IngestResult(status=409)
        result.add([duplicate_file_problem(earlier, filename, digest)])
        return result
    samples = {
        name: sample_id
        for name, sample_id in db.session.execute(
            select(Sample.samp_name, Sample.id).where(Sample.dataset_id == dataset.id)
        )
    }
    try:
        if is_biom(path):
            table = read_biom(path)
        else:
            table = read_sheet(path, filename, orientation, set(samples))
        if taxonomy is not None:
            _attach_taxonomy(table, read_taxonomy(*taxonomy))
    except TableError as error:
        result = IngestResult(status=error.status)
        result.add([Problem(error.row, error.column, "", error.code, error.message, error.fix)])
        return result
    result = IngestResult(status=201)
    result.rows_checked = len(table.feature_ids)
    if progress is not None:
        progress(result.rows_checked)
    result.add(
        [Problem(p.row, p.column, p.value, p.code, p.message, p.fix) for p in table.problems],
        table.problem_count,
    )
    result.add(_shape_problems(table, samples))
    if result.error_count:
        result.status = 422
        return result
    upload = Upload(
        dataset_id=dataset.id,
        kind="abundance",
        filename=filename[:255],
        size_bytes=size,
        sha256=digest,
        row_count=len(table.feature_ids),
        uploaded_by_id=user.id,
    )
    db.session.add(upload)
    db.session.flush()
    counts = bool(np.all(np.mod(table.values, 1) == 0))
    used = np.unique(table.sample_index)
    record = AbundanceTable(
        id=upload.id,
        dataset_id=dataset.id,
        value_kind="counts" if counts else "relative",
        orientation=table.orientation,
        taxonomy_source=table.taxonomy_source,
        feature_count=len(table.feature_ids),
        sample_count=len(table.sample_names),
        entry_count=len(table.values),
    )
    db.session.add(record)
    db.session.flush()
    feature_ids = _copy_features(table, upload.id, dataset.id)
    sample_ids = np.array([samples[name] for name in table.sample_names], dtype=np.int64)
    _copy_entries(table, upload.id, feature_ids, sample_ids)
    result.stored = len(table.values)
    result.upload_id = upload.id
    result.summary = {
        "features": len(table.feature_ids),
        "samples": int(len(used)),
        "entries": len(table.values),
        "orientation": table.orientation,
        "value_kind": record.value_kind,
        "taxonomy": table.taxonomy_source,
    }
    return result


def _shape_problems(table: FeatureTable, samples: dict[str, int]) -> list[Problem]:
    problems: list[Problem] = []
    rows_are_features = table.orientation == "features-as-rows"
    feature_word = "feature id"
    for name, count in Counter(table.feature_ids).items():
        if count > 1 and name:
            places = [
                p
                for f, p in zip(table.feature_ids, table.feature_places, strict=False)
                if f == name
            ]
            problems.append(
                Problem(
                    None,
                    "feature id" if rows_are_features else places[0],
                    name,
                    "duplicate_feature",
                    f"The {feature_word} '{name}' appears {count} times ({', '.join(places[:5])}).",
                    "Give every feature its own id, or merge the duplicated rows by adding their "
                    "values.",
                )
            )
    for name, count in Counter(table.sample_names).items():
        if count > 1:
            places = [
                p
                for s, p in zip(table.sample_names, table.sample_places, strict=False)
                if s == name
            ]
            problems.append(
                Problem(
                    None,
                    places[0],
                    name,
                    "duplicate_sample",
                    f"The sample '{name}' appears {count} times ({', '.join(places[:5])}).",
                    "Keep one column (or row) per sample; merge technical replicates first.",
                )
            )
    lowered = {name.lower(): name for name in samples}
    hinted = 0
    for name, place in zip(table.sample_names, table.sample_places, strict=False):
        if name and name not in samples:
            # Suggestions cost a scan of the dataset's names each: the first 50 get them.
            hinted += 1
            close = (
                difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
                if hinted <= 50
                else []
            )
            hint = (
                f" Closest names in the dataset: {', '.join(lowered[c] for c in close)}."
                if close
                else ""
            )
            problems.append(
                Problem(
                    None,
                    place,
                    name,
                    "unknown_sample",
                    f"'{name}' is not a sample of this dataset.{hint}",
                    "Every sample in the table must be a sample of the dataset (its samp_name): "
                    "fix the name, or upload that sample's metadata first.",
                )
            )
    if not table.feature_ids or not table.sample_names or len(table.values) == 0:
        what = (
            "no features"
            if not table.feature_ids
            else "no samples"
            if not table.sample_names
            else "only zeros"
        )
        problems.append(
            Problem(
                None,
                None,
                "",
                "empty_table",
                f"The table has {what}: there is nothing to store.",
                "Upload a table with feature ids in the first column, one column per sample and "
                "at least one non-zero value.",
            )
        )
    return problems


def _attach_taxonomy(table: FeatureTable, lineages: dict[str, str]) -> None:
    table.lineages = [lineages.get(feature) for feature in table.feature_ids]
    table.taxonomy_source = "taxonomy file"


def _raw_connection() -> Any:
    return db.session.connection().connection.dbapi_connection


def _copy_features(table: FeatureTable, table_id: int, dataset_id: int) -> np.ndarray:
    """COPY the features in file order; returns their database ids in the same order."""
    lineages = table.lineages or [None] * len(table.feature_ids)
    parsed = parse_lineages(lineages)
    text = [
        None if value is None else value if isinstance(value, str) else "; ".join(map(str, value))
        for value in lineages
    ]
    frame = pl.DataFrame(
        {
            "table_id": pl.Series([table_id] * len(table.feature_ids), dtype=pl.Int32),
            "dataset_id": pl.Series([dataset_id] * len(table.feature_ids), dtype=pl.Int32),
            "feature_id": table.feature_ids,
            "lineage": pl.Series(text, dtype=pl.String),
            "sequence": pl.Series(
                table.sequences or [None] * len(table.feature_ids), dtype=pl.String
            ),
            **{
                f"tax_{rank}": pl.Series([p.ranks[i] for p in parsed], dtype=pl.String)
                for i, rank in enumerate(RANKS)
            },
        }
    )
    cursor = _raw_connection().cursor()
    try:
        cursor.copy_expert(
            f"COPY features ({', '.join(FEATURE_COLUMNS)}) FROM STDIN WITH (FORMAT csv)",
            io.BytesIO(frame.write_csv(include_header=False, quote_style="non_numeric").encode()),
        )
        cursor.execute("SELECT feature_id, id FROM features WHERE table_id = %s", (table_id,))
        ids = dict(cursor.fetchall())
    finally:
        cursor.close()
    return np.array([ids[f] for f in table.feature_ids], dtype=np.int64)


def _copy_entries(
    table: FeatureTable, table_id: int, feature_ids: np.ndarray, sample_ids: np.ndarray
) -> None:
    """COPY the non-zero entries, ordered by feature then sample, with relative abundances."""
    totals = np.bincount(table.sample_index, weights=table.values, minlength=len(sample_ids))
    order = np.lexsort((sample_ids[table.sample_index], feature_ids[table.feature_index]))
    frame = pl.DataFrame(
        {
            "feature_id": feature_ids[table.feature_index[order]],
            "sample_id": sample_ids[table.sample_index[order]],
            "table_id": np.full(len(order), table_id, dtype=np.int32),
            "value": table.values[order],
            "relative": table.values[order] / totals[table.sample_index[order]],
        }
    )
    cursor = _raw_connection().cursor()
    try:
        cursor.copy_expert(
            "COPY abundances (feature_id, sample_id, table_id, value, relative) "
            "FROM STDIN WITH (FORMAT csv)",
            _Slices(frame),
            size=1 << 20,
        )
    finally:
        cursor.close()


class _Slices:
    """A file-like object handing COPY the frame as CSV, one slice at a time (bounded memory)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.pieces: Iterator[bytes] = (
            frame.slice(start, COPY_SLICE).write_csv(include_header=False).encode()
            for start in range(0, frame.height, COPY_SLICE)
        )

    def read(self, size: int = -1) -> bytes:
        return next(self.pieces, b"")

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)
