"""Download answers shared by the pages and the API: a dataset's samples and a search result,
streamed in any of `formats.FORMATS`, their cells built by PostgreSQL (cells_sql): CSV and TSV
written by COPY a batch at a time, XLSX and JSON from the same rows."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, stream_with_context
from sqlalchemy import Select, select

from fairdb.models import Dataset, Sample
from fairdb.services import access, cells_sql, export, formats, search


def slug(dataset: Dataset) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", dataset.title).strip("-")[:60] or "dataset"


def attachment(pieces: Any, fmt: str, filename: str) -> Response:
    kind = formats.FORMATS[fmt]
    return Response(
        stream_with_context(pieces),
        mimetype=kind.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}{kind.extension}"'},
    )


def _in_id_order(
    statement: Select[Any], with_dataset: bool, columns: list[str], header: list[str], fmt: str
) -> Any:
    if fmt in ("csv", "tsv"):
        separator = "," if fmt == "csv" else "\t"
        return cells_sql.delimited(statement, with_dataset, columns, header, separator)
    return formats.stream_rows(header, cells_sql.rows(statement, with_dataset, columns), fmt)


def dataset_pieces(user: Any, dataset: Dataset, columns: list[str], fmt: str) -> Any:
    """The bytes of the dataset's samples the user may see, in `columns` (with a header)."""
    statement = select(Sample.id).where(access.samples_of(user, dataset))
    return _in_id_order(statement, False, columns, columns, fmt)


def dataset_samples(user: Any, dataset: Dataset, fmt: str) -> Response:
    """Every sample of the dataset the user may see, every column, in the uploaded shape."""
    pieces = dataset_pieces(user, dataset, export.export_columns(dataset), fmt)
    return attachment(pieces, fmt, f"fairdb-{dataset.id}-{slug(dataset)}")


def search_result(user: Any, query: search.SampleQuery, fmt: str) -> Response:
    """Every sample the search finds that the user may see, in the chosen columns."""
    query.cursor = None
    header = ["dataset_id", "dataset_title", *query.columns]
    if query.sort == "":  # id order: batches over ids, PostgreSQL writes the rows
        statement = search.matching(user, query)
        pieces = _in_id_order(statement, True, query.columns, header, fmt)
        return attachment(pieces, fmt, "fairdb-samples")
    rows = search.rows_for_download(user, query)
    return attachment(formats.stream_rows(header, rows, fmt), fmt, "fairdb-samples")
