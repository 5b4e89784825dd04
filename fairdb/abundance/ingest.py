"""Abundance ingest: read a feature table, check it against the dataset's samples, COPY it.

Same rules as sample uploads: all or nothing (the caller commits only an ok result), the same
report of problems (row, column, value, what is wrong, the fix), SHA-256 against repeated files.
Entries are loaded feature by feature with consecutive feature ids, so a table's entries lie
together on disk in feature order and one BRIN index finds them.
"""

from __future__ import annotations

import difflib
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import text

from fairdb.abundance.lineage import RANKS, parse_lineages
from fairdb.abundance.reader import (
    FeatureTable,
    is_biom,
    read_biom,
    read_sheet,
    read_taxonomy,
)
from fairdb.extensions import db
from fairdb.models import AbundanceTable, Dataset, Upload, User
from fairdb.services.copying import copy_out, raw_connection
from fairdb.services.ingest import IngestResult, Problem, check_repeated_file
from fairdb.services.tables import TableError

ORIENTATIONS = ("auto", "features-as-rows", "samples-as-rows")
COPY_SLICE = 100_000
FEATURE_ID_LOCK = 0x0FA10DC  # pg_advisory_lock(FEATURE_ID_LOCK, 0): reserving feature ids
FEATURE_COLUMNS = (
    "table_id",
    "dataset_id",
    "feature_id",
    "lineage",
    "sequence",
    *[f"tax_{rank}" for rank in RANKS],
    "taxa",
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
    digest, size, repeated = check_repeated_file(dataset, path, filename)
    if repeated is not None:
        return repeated
    samples = _sample_ids(dataset.id)
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
    upload, record = _store(
        dataset, table, samples, user, filename=filename, size=size, digest=digest
    )
    result.stored = len(table.values)
    result.upload_id = upload.id
    result.summary = {
        "features": len(table.feature_ids),
        "samples": int(
            np.count_nonzero(np.bincount(table.sample_index, minlength=len(table.sample_names)))
        ),
        "entries": len(table.values),
        "orientation": table.orientation,
        "value_kind": record.value_kind,
        "taxonomy": table.taxonomy_source,
    }
    return result


def _store(
    dataset: Dataset,
    table: FeatureTable,
    samples: dict[str, int],
    user: User,
    *,
    filename: str,
    size: int,
    digest: str,
) -> tuple[Upload, AbundanceTable]:
    """Write a checked table: its upload row, its features, and its entries in a partition."""
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
    first = _reserve_feature_ids(len(table.feature_ids))
    last = first + len(table.feature_ids) - 1
    record = AbundanceTable(
        id=upload.id,
        dataset_id=dataset.id,
        value_kind="counts" if bool(np.all(np.mod(table.values, 1) == 0)) else "relative",
        orientation=table.orientation,
        taxonomy_source=table.taxonomy_source,
        feature_count=len(table.feature_ids),
        sample_count=len(table.sample_names),
        entry_count=len(table.values),
        first_feature_id=first,
        last_feature_id=last,
    )
    db.session.add(record)
    db.session.flush()
    sample_ids = np.array([samples[name] for name in table.sample_names], dtype=np.int64)
    # A bare table whose CHECK matches the partition bounds (so attaching it needs no scan) is
    # loaded and indexed by a second thread while this one parses lineages; the connection is
    # used by one thread at a time. Then it is attached and the features follow.
    partition = f"abundances_{int(upload.id)}"
    db.session.execute(
        text(
            f"CREATE TABLE {partition} (LIKE abundances INCLUDING DEFAULTS, "
            f"CHECK (feature_id >= {int(first)} AND feature_id < {int(last) + 1}))"
        )
    )
    loading = _Background(
        _load_partition,
        raw_connection(),
        partition,
        _entry_pieces(table, first, sample_ids),
        _totals_pieces(table, upload.id, sample_ids),
    )
    features = _features_frame(table, first, upload.id, dataset.id)
    loading.join()
    db.session.execute(
        text(
            f"ALTER TABLE abundances ATTACH PARTITION {partition} "
            f"FOR VALUES FROM ({int(first)}) TO ({int(last) + 1})"
        )
    )
    _copy(
        f"COPY features (id, {', '.join(FEATURE_COLUMNS)}) FROM STDIN WITH (FORMAT csv)",
        features,
        quote_style="non_numeric",
    )
    return upload, record


def _sample_ids(dataset_id: int) -> dict[str, int]:
    """The dataset's sample names and ids."""
    frame = copy_out(
        f"SELECT samp_name, id FROM samples WHERE dataset_id = {int(dataset_id)}",  # noqa: S608
        {"name": pl.String, "id": pl.Int64},
    )
    return dict(zip(frame["name"].to_list(), frame["id"].to_list(), strict=True))


def _shape_problems(table: FeatureTable, samples: dict[str, int]) -> list[Problem]:
    problems: list[Problem] = []
    rows_are_features = table.orientation == "features-as-rows"
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
                    f"The feature id '{name}' appears {count} times ({', '.join(places[:5])}).",
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


def _reserve_feature_ids(count: int) -> int:
    """The first of `count` consecutive feature ids, taken from the sequence in one block.

    The block must not interleave with another upload's: the reservation runs under a
    session-level advisory lock that every writer of features takes (only this service writes
    features). Sequence changes are not transactional, so a rolled-back upload leaves a gap.
    """
    cursor = raw_connection().cursor()
    try:
        cursor.execute("SELECT pg_advisory_lock(%s, 0)", (FEATURE_ID_LOCK,))
        try:
            cursor.execute(
                "SELECT setval('features_id_seq', nextval('features_id_seq') + %s - 1)",
                (count,),
            )
            last = int(cursor.fetchone()[0])
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s, 0)", (FEATURE_ID_LOCK,))
    finally:
        cursor.close()
    return last - count + 1


def _features_frame(
    table: FeatureTable, first: int, table_id: int, dataset_id: int
) -> pl.DataFrame:
    """The features in file order, with the ids first, first + 1, ... and parsed lineages."""
    count = len(table.feature_ids)
    lineages = table.lineages or [None] * count
    parsed = parse_lineages(lineages)
    text = [
        None if value is None else value if isinstance(value, str) else "; ".join(map(str, value))
        for value in lineages
    ]
    return pl.DataFrame(
        {
            "id": np.arange(first, first + count, dtype=np.int64),
            "table_id": np.full(count, table_id, dtype=np.int32),
            "dataset_id": np.full(count, dataset_id, dtype=np.int32),
            "feature_id": table.feature_ids,
            "lineage": pl.Series(text, dtype=pl.String),
            "sequence": pl.Series(table.sequences or [None] * count, dtype=pl.String),
            **{
                f"tax_{rank}": pl.Series([p.ranks[i] for p in parsed], dtype=pl.String)
                for i, rank in enumerate(RANKS)
            },
            "taxa": [_array_literal(p.ranks) for p in parsed],
        }
    )


def _array_literal(names: tuple[str | None, ...]) -> str:
    """A PostgreSQL text[] literal of the known names: {"Bacteria","Firmicutes",...}."""
    known = [n.replace("\\", "\\\\").replace('"', '\\"') for n in names if n is not None]
    return "{" + ",".join(f'"{n}"' for n in known) + "}"


# PostgreSQL's binary COPY: header, then per row a field count and (length, big-endian value)
# per field; numpy writes it without formatting a single number as text.
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_BINARY_TRAILER = b"\xff\xff"
_ENTRY = np.dtype(
    [
        ("fields", ">i2"),
        ("feature_length", ">i4"),
        ("feature_id", ">i8"),
        ("sample_length", ">i4"),
        ("sample_id", ">i8"),
        ("value_length", ">i4"),
        ("value", ">f8"),
    ]
)


def _entry_pieces(table: FeatureTable, first: int, sample_ids: np.ndarray) -> list[bytes]:
    """The non-zero entries in feature order (the BRIN's order) as binary COPY data, built
    before loading starts so the loading thread only sends bytes (it needs no GIL for that)."""
    features = table.feature_index + first
    if len(features) > 1 and not bool(np.all(features[1:] >= features[:-1])):
        order: np.ndarray | None = np.argsort(features, kind="stable")
    else:
        order = None  # BIOM and sheets are read feature by feature already
    pieces = [_BINARY_HEADER]
    for start in range(0, len(features), COPY_SLICE):
        chosen: Any = (
            slice(start, start + COPY_SLICE) if order is None else order[start : start + COPY_SLICE]
        )
        rows = np.empty(len(features[chosen]), dtype=_ENTRY)
        rows["fields"] = 3
        rows["feature_length"] = rows["sample_length"] = rows["value_length"] = 8
        rows["feature_id"] = features[chosen]
        rows["sample_id"] = sample_ids[table.sample_index[chosen]]
        rows["value"] = table.values[chosen]
        pieces.append(rows.tobytes())
    pieces.append(_BINARY_TRAILER)
    return pieces


def _send(connection: Any, sql: str, pieces: list[bytes]) -> None:
    cursor = connection.cursor()
    try:
        cursor.copy_expert(sql, _Reader(iter(pieces)), size=1 << 20)
    finally:
        cursor.close()


def _totals_pieces(table: FeatureTable, table_id: int, sample_ids: np.ndarray) -> list[bytes]:
    totals = np.bincount(table.sample_index, weights=table.values, minlength=len(sample_ids))
    present = totals > 0
    frame = pl.DataFrame(
        {
            "table_id": np.full(int(present.sum()), table_id, dtype=np.int32),
            "sample_id": sample_ids[present],
            "total": totals[present],
        }
    )
    return [frame.write_csv(include_header=False).encode()]


def _load_partition(
    connection: Any, partition: str, entries: list[bytes], totals: list[bytes]
) -> None:
    """On the upload's connection: COPY the entries, index them (the same BRIN as the parent's
    partitioned index, so attaching adopts it), COPY the sample totals."""
    # FREEZE: the partition was created in this same transaction, so its rows can be written
    # frozen; no later scan rewrites a million tuples' hint bits, no vacuum has to freeze them.
    _send(
        connection,
        f"COPY {partition} (feature_id, sample_id, value) FROM STDIN WITH (FORMAT binary, FREEZE)",
        entries,
    )
    cursor = connection.cursor()
    try:
        cursor.execute(
            f"CREATE INDEX {partition}_feature_id_brin ON {partition} "
            "USING brin (feature_id) WITH (pages_per_range = 16)"
        )
    finally:
        cursor.close()
    _send(
        connection,
        "COPY abundance_totals (table_id, sample_id, total) FROM STDIN WITH (FORMAT csv)",
        totals,
    )


def _copy(sql: str, frame: pl.DataFrame, quote_style: Any = "necessary") -> None:
    pieces = (
        frame.slice(start, COPY_SLICE)
        .write_csv(include_header=False, quote_style=quote_style)
        .encode()
        for start in range(0, frame.height, COPY_SLICE)
    )
    cursor = raw_connection().cursor()
    try:
        cursor.copy_expert(sql, _Reader(pieces), size=1 << 20)
    finally:
        cursor.close()


class _Reader:
    """A file-like object handing COPY one piece at a time (bounded memory)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self.pieces = pieces

    def read(self, size: int = -1) -> bytes:
        return next(self.pieces, b"")

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


class _Background:
    """Run a function in a thread; join() waits and re-raises its exception here."""

    def __init__(self, function: Callable[..., None], *args: Any) -> None:
        self.error: BaseException | None = None

        def run() -> None:
            try:
                function(*args)
            except BaseException as error:  # handed to the caller by join()
                self.error = error

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self) -> None:
        self.thread.join()
        if self.error is not None:
            raise self.error
