"""Sample-metadata ingest: read the file in chunks, check every cell, COPY into samples.

All or nothing: the caller commits only when the result is ok; any invalid cell, duplicate
name, repeated file or failure leaves the database as it was. Validation of chunk n+1 runs
while PostgreSQL is still loading chunk n (COPY streams from a second thread), so the two cores
of a small server both work.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import func, select

from fairdb.checklists.bulk import attributes_json, shared_cells, validate_frame
from fairdb.checklists.columns import ColumnMatch, match_columns
from fairdb.checklists.model import Checklist, get_checklist
from fairdb.extensions import db
from fairdb.models import TYPED_COLUMNS, Dataset, Upload, User
from fairdb.services.column_stats import UploadStats
from fairdb.services.copying import copy_out, raw_connection, sample_id_mark
from fairdb.services.ingest_columns import column_problems, prepare_frame
from fairdb.services.search_index import UploadIndex
from fairdb.services.tables import TableError, open_table

CHUNK_ROWS = 25_000
COPY_SLICE_ROWS = 5_000
# Files with at least this many rows store the values most rows share once, with the upload.
SHARED_CELLS_MIN_ROWS = 1_000
LOCK_NAMESPACE = 0x0FA1_0DB  # pg_advisory_xact_lock(namespace, dataset_id): sample-name writers
MAX_PROBLEMS_KEPT = 10_000
COPY_COLUMNS = ("dataset_id", "upload_id", *TYPED_COLUMNS, "attributes")


@dataclass(frozen=True)
class Problem:
    """One line of an error report: where, what is wrong, and how to fix it."""

    row: int | None
    column: str | None
    value: str
    code: str
    message: str
    fix: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "code": self.code,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass
class IngestResult:
    """What happened to one file. status is the HTTP status a view should answer with."""

    status: int
    stored: int = 0
    rows_checked: int = 0
    error_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    upload_id: int | None = None
    # What was stored, for the success message (abundance tables: features, samples, ...).
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 201

    def add(self, problems: list[Problem], count: int | None = None) -> None:
        self.error_count += len(problems) if count is None else count
        room = MAX_PROBLEMS_KEPT - len(self.problems)
        self.problems.extend(problems[: max(room, 0)])

    def report(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "stored": self.stored,
            "rows_checked": self.rows_checked,
            "error_count": self.error_count,
            "errors": [p.as_dict() for p in self.problems],
            "unrecognised": self.unrecognised,
            "summary": self.summary,
        }


def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def check_repeated_file(
    dataset: Dataset, path: Path, filename: str
) -> tuple[str, int, IngestResult | None]:
    """The file's SHA-256 and size, and a 409 result when this dataset already holds it."""
    digest, size = file_digest(path)
    earlier = db.session.scalar(
        select(Upload).where(Upload.dataset_id == dataset.id, Upload.sha256 == digest)
    )
    if earlier is None:
        return digest, size, None
    when = earlier.created_at.strftime("%Y-%m-%d %H:%M UTC")
    result = IngestResult(status=409)
    result.add(
        [
            Problem(
                None,
                None,
                filename,
                "duplicate_file",
                f"This exact file (SHA-256 {digest[:12]}…) was already uploaded to this "
                f"dataset as {earlier.filename} on {when}.",
                "Nothing was changed. To add data, upload a file that contains only the new part.",
            )
        ]
    )
    return digest, size, result


def ingest_samples(
    dataset: Dataset,
    path: Path,
    filename: str,
    user: User,
    *,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Check a sample-metadata file against the dataset's checklist and stage its samples.

    Flushes, never commits. On a result that is not ok the caller must roll back.
    """
    digest, size, repeated = check_repeated_file(dataset, path, filename)
    if repeated is not None:
        return repeated
    checklist = get_checklist(dataset.checklist)
    try:
        with open_table(path, filename) as table:
            match = match_columns(table.info.headers, checklist)
            result = IngestResult(status=201)
            result.unrecognised = list(match.unrecognised)
            header_problems = column_problems(match, checklist, table.info.header_row)
            if header_problems:
                result.status = 422
                result.add(header_problems)
                return result
            upload = Upload(
                dataset_id=dataset.id,
                filename=filename[:255],
                size_bytes=size,
                sha256=digest,
                row_count=0,
                uploaded_by_id=user.id,
            )
            db.session.add(upload)
            db.session.flush()
            result.upload_id = upload.id
            _check_and_copy(table, match, checklist, dataset, upload, result, progress)
    except TableError as error:
        result = IngestResult(status=error.status)
        result.add([Problem(error.row, error.column, "", error.code, error.message, error.fix)])
        return result
    if result.error_count:
        result.status = 422
        return result
    upload.row_count = result.stored
    db.session.flush()
    return result


def _check_and_copy(
    table: Any,
    match: ColumnMatch,
    checklist: Checklist,
    dataset: Dataset,
    upload: Upload,
    result: IngestResult,
    progress: Callable[[int], None] | None,
) -> None:
    # One upload at a time per dataset: the names checked below stay unique until commit.
    db.session.execute(select(func.pg_advisory_xact_lock(LOCK_NAMESPACE, dataset.id)))
    names = _NameRegister(_existing_names(dataset.id))
    upload.first_sample_id = sample_id_mark()
    copier = SampleCopier(dataset.id, upload.id)
    state = _Run(result, names, copier, upload, memo={}, index=UploadIndex(), stats=UploadStats())
    shared: dict[str, str] | None = None
    try:
        for raw in table.chunks(CHUNK_ROWS):
            shared = _check_chunk(raw, match, checklist, table.info.headers, state, shared)
            # Free this chunk before the reader parses the next one (peak memory).
            del raw
            if progress is not None:
                progress(result.rows_checked)
        if result.error_count == 0:
            copier.finish()
            upload.last_sample_id = sample_id_mark()
            state.index.write(dataset.id, upload.id)
            upload.column_stats = state.stats.result()
        else:
            copier.abort()
    except BaseException:
        copier.abort()
        raise


@dataclass
class _Run:
    """What the chunks of one file share while it is checked and loaded."""

    result: IngestResult
    names: _NameRegister
    copier: SampleCopier
    upload: Upload
    memo: dict[str, pl.DataFrame]
    index: UploadIndex
    stats: UploadStats


def _check_chunk(
    raw: pl.DataFrame,
    match: ColumnMatch,
    checklist: Checklist,
    headers: list[str],
    run: _Run,
    shared: dict[str, str] | None,
) -> dict[str, str] | None:
    """Check one chunk and, while the file is still clean, hand it to COPY. Returns the
    upload's shared cells (chosen from the first chunk that is loaded)."""
    result = run.result
    rows = raw["__row"]
    frame, extras = prepare_frame(raw.drop("__row"), match, headers)
    checked = validate_frame(
        frame, checklist, extra_columns=extras, row_numbers=rows, memo=run.memo
    )
    problems = [
        Problem(e.row, e.column, e.value[:200], e.code, e.message, e.fix) for e in checked.errors
    ]
    result.add(problems, checked.error_count)
    result.add(run.names.check(checked.typed["samp_name"], rows))
    result.rows_checked += raw.height
    if result.error_count == 0:
        if shared is None:
            big = raw.height >= SHARED_CELLS_MIN_ROWS
            shared = shared_cells(checked.cells) if big else {}
            run.upload.shared_cells = shared
        run.copier.feed(checked.typed.with_columns(attributes_json(checked.cells, shared)))
        run.index.add(checked.typed)
        run.stats.add(frame)
        result.stored += checked.typed.height
    elif run.copier.running:
        run.copier.abort()  # nothing of this file will be kept: stop loading now
    return shared


def _existing_names(dataset_id: int) -> pl.Series:
    """The sample names already in the dataset."""
    return copy_out(
        f"SELECT samp_name FROM samples WHERE dataset_id = {int(dataset_id)}",  # noqa: S608
        {"samp_name": pl.String},
    )["samp_name"]


class _NameRegister:
    """Sample names seen so far (in the dataset, and in earlier chunks of this file)."""

    def __init__(self, existing: pl.Series) -> None:
        self.seen = pl.DataFrame(
            {
                "samp_name": existing,
                "first_row": pl.Series([], dtype=pl.Int32).extend_constant(None, len(existing)),
            }
        )

    def check(self, names: pl.Series, rows: pl.Series) -> list[Problem]:
        chunk = pl.DataFrame({"samp_name": names, "row": rows.cast(pl.Int32)}).drop_nulls(
            "samp_name"
        )
        # Probe the (large) register with a set of this chunk's names; joining would build a
        # hash table of the whole register for every chunk.
        hits = self.seen.filter(pl.col("samp_name").is_in(chunk["samp_name"].implode()))
        clashes = chunk.join(hits, on="samp_name", how="inner")
        problems = []
        for name, row, first in clashes.iter_rows():
            if first is None:
                message = f"The sample name '{name}' is already in this dataset."
                fix = (
                    "Sample names must be unique within a dataset: rename this sample, or "
                    "leave it out if it is the same sample."
                )
            else:
                message = f"The sample name '{name}' is also used in row {first}."
                fix = "Give every sample its own name (samp_name), e.g. by adding a suffix."
            problems.append(Problem(row, "samp_name", str(name), "duplicate_name", message, fix))
        firsts = chunk.unique(subset="samp_name", keep="first", maintain_order=True)
        self.seen = pl.concat([self.seen, firsts.rename({"row": "first_row"})], how="vertical")
        return problems


class _Abort(Exception):
    """Raised inside the COPY stream to make PostgreSQL abandon the load."""


class SampleCopier:
    """Feeds CSV chunks to `COPY samples FROM STDIN` running in a second thread."""

    def __init__(self, dataset_id: int, upload_id: int) -> None:
        self.dataset_id = dataset_id
        self.upload_id = upload_id
        self.chunks: queue.Queue[bytes | None | _Abort] = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        self.cursor: Any = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def _start(self) -> None:
        self.cursor = raw_connection().cursor()
        columns = ", ".join(COPY_COLUMNS)
        sql = f"COPY samples ({columns}) FROM STDIN WITH (FORMAT csv)"
        self.thread = threading.Thread(target=self._run, args=(sql,), daemon=True)
        self.thread.start()

    def _run(self, sql: str) -> None:
        try:
            self.cursor.copy_expert(sql, _QueueReader(self.chunks), size=1 << 20)
        except BaseException as error:  # reported to the caller's thread by finish()
            self.error = error

    def feed(self, typed: pl.DataFrame) -> None:
        if self.thread is None:
            self._start()
        if self.error is not None:
            raise self.error
        frame = typed.select(
            pl.lit(self.dataset_id).alias("dataset_id"),
            pl.lit(self.upload_id).alias("upload_id"),
            *[pl.col(name) for name in (*TYPED_COLUMNS, "attributes")],
        )
        # Written in slices: polars' CSV writer takes several times its output in memory, and
        # smaller pieces keep the two threads in step. Quoting every text cell is faster than
        # deciding which need it (nulls stay unquoted).
        for start in range(0, frame.height, COPY_SLICE_ROWS):
            piece = frame.slice(start, COPY_SLICE_ROWS)
            self.chunks.put(
                piece.write_csv(include_header=False, quote_style="non_numeric").encode()
            )

    def finish(self) -> None:
        if self.thread is None:
            return
        self.chunks.put(None)
        self.thread.join()
        self.cursor.close()
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            return
        # Drain what is queued so the reader sees the abort promptly.
        try:
            while True:
                self.chunks.get_nowait()
        except queue.Empty:
            pass
        self.chunks.put(_Abort())
        self.thread.join()
        self.cursor.close()


class _QueueReader:
    """A file-like object whose read() hands psycopg2 the next queued chunk."""

    def __init__(self, chunks: queue.Queue[bytes | None | _Abort]) -> None:
        self.chunks = chunks

    def read(self, size: int = -1) -> bytes:
        item = self.chunks.get()
        if isinstance(item, _Abort):
            raise item
        return item or b""

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)
