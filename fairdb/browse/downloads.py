"""Download answers shared by the pages and the API: a dataset's samples and a search result,
streamed in any of `formats.FORMATS`, cells built by polars over COPY batches where possible."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import polars as pl
from flask import Response, stream_with_context
from sqlalchemy import select

from fairdb.models import Dataset, Sample
from fairdb.services import access, bulk_export, export, formats, search


def slug(dataset: Dataset) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", dataset.title).strip("-")[:60] or "dataset"


def attachment(pieces: Any, fmt: str, filename: str) -> Response:
    kind = formats.FORMATS[fmt]
    return Response(
        stream_with_context(pieces),
        mimetype=kind.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}{kind.extension}"'},
    )


def sample_frames(user: Any, dataset: Dataset, columns: list[str]) -> Iterator[Any]:
    """The samples the user may see, a COPY batch at a time, their cells built by polars."""
    statement = select(Sample.id.label("id")).where(access.samples_of(user, dataset))
    return bulk_export.batches(statement, {"id": pl.Int64}, columns)


def frames_as(frames: Iterator[Any], header: list[str], fmt: str) -> Iterator[bytes]:
    if fmt in ("csv", "tsv"):
        return bulk_export.csv_pieces(frames, header, "," if fmt == "csv" else "\t")
    rows = (row for batch in frames for row in batch.iter_rows())
    return formats.stream_rows(header, rows, fmt)


def dataset_samples(user: Any, dataset: Dataset, fmt: str) -> Response:
    """Every sample of the dataset the user may see, every column, in the uploaded shape."""
    columns = export.export_columns(dataset)
    frames = sample_frames(user, dataset, columns)
    return attachment(frames_as(frames, columns, fmt), fmt, f"fairdb-{dataset.id}-{slug(dataset)}")


def search_result(user: Any, query: search.SampleQuery, fmt: str) -> Response:
    """Every sample the search finds that the user may see, in the chosen columns."""
    query.cursor = None
    header = ["dataset_id", "dataset_title", *query.columns]
    if query.sort == "":  # id order: a batch at a time by COPY, cells built by polars
        frames = search.download_batches(user, query)
        return attachment(frames_as(frames, header, fmt), fmt, "fairdb-samples")
    rows = search.rows_for_download(user, query)
    return attachment(formats.stream_rows(header, rows, fmt), fmt, "fairdb-samples")
