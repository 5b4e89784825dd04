"""API routes for samples: upload (file or JSON records), search with cursors and facets,
read and change one sample, and downloads in the pages' formats."""

from __future__ import annotations

import tempfile
from http import HTTPStatus
from pathlib import Path
from typing import Any

import polars as pl
from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from fairdb.api.core import (
    ApiError,
    bp,
    created,
    documented,
    idempotent,
    json_body,
    json_payload,
    this_url_with,
    with_next_link,
)
from fairdb.browse import downloads
from fairdb.checklists.model import get_checklist
from fairdb.extensions import db
from fairdb.models import Dataset, Sample
from fairdb.schemas import api_samples as schemas
from fairdb.schemas.api import UploadOut
from fairdb.services import access, curation, ingest, search, search_orders

TAG = "Samples"
API_FORMATS = ("csv", "tsv", "json")
MAX_RECORDS = 100_000


def _known_columns() -> set[str]:
    return {spec.name for spec in get_checklist("MimsHumanGut").fields}


def parsed_query() -> search.SampleQuery:
    """The search page's own parser, so a URL means the same in the browser and the API."""
    try:
        return search.parse(request.args, known_columns=_known_columns())
    except search.QueryError as error:
        raise ApiError(
            400,
            "Bad Request",
            error.message,
            errors=[{"column": error.parameter, "message": error.message}],
        ) from None


@bp.get("/samples")
@access.open_route
@documented(
    summary="Search samples across every dataset you may read (as the search page)",
    tag=TAG,
    query=schemas.SampleSearchQuery,
    responses={200: schemas.SamplePage},
    errors=(400,),
)
def search_samples() -> ResponseReturnValue:
    query = parsed_query()
    found = search.page(current_user, query)
    # One url_for for the page: building 100 URLs through the router cost 2.5 ms.
    sample_url = url_for("api.get_sample", sample_id=0, _external=True).removesuffix("0")
    body: dict[str, Any] = {
        "items": [{**row, "url": f"{sample_url}{row['id']}"} for row in found.rows],
        "columns": query.columns,
    }
    if request.args.get("facets", "").lower() in ("1", "true", "yes"):
        total, facets = search.facet_counts(current_user, query)
        body["total"] = total
        body["facets"] = {
            name: [{"value": v.value, "label": v.label, "count": v.count} for v in values]
            for name, values in facets.items()
        }
    next_url = this_url_with(cursor=found.next_cursor) if found.next_cursor else None
    return with_next_link(body, next_url)


@bp.get("/samples/download.<fmt>")
@access.open_route
@documented(
    summary="Every sample the search finds, streamed as CSV, TSV or JSON",
    tag=TAG,
    query=schemas.SampleSearchQuery,
    media={200: "text/csv"},
    errors=(400, 404),
)
def download_samples(fmt: str) -> ResponseReturnValue:
    if fmt not in API_FORMATS:
        raise ApiError(404, "Not Found", f"Downloads come as {', '.join(API_FORMATS)}.")
    return downloads.search_result(current_user, parsed_query(), fmt)


def sample_json(sample: Sample, dataset: Dataset) -> dict[str, Any]:
    return {
        "id": sample.id,
        "dataset_id": dataset.id,
        "samp_name": sample.samp_name,
        "privacy_level": sample.privacy.value if sample.privacy is not None else None,
        "cells": curation.sample_cells(sample),
        "url": url_for(
            "browse.sample", dataset_id=dataset.id, name=sample.samp_name, _external=True
        ),
    }


@bp.get("/samples/<int:sample_id>")
@access.sample_route(access.Need.SAMPLES)
@documented(
    summary="One sample: every cell as uploaded",
    tag=TAG,
    responses={200: schemas.SampleOut},
    errors=(404,),
)
def get_sample(sample: Sample, dataset: Dataset) -> ResponseReturnValue:
    return jsonify(sample_json(sample, dataset))


@bp.patch("/samples/<int:sample_id>")
@access.sample_route(access.Need.EDIT)
@documented(
    summary="Change cells of a sample (checked as an upload is; an empty text removes a cell)",
    tag=TAG,
    body=schemas.SamplePatch,
    responses={200: schemas.SampleOut},
    errors=(400, 403, 404, 422),
)
def patch_sample(sample: Sample, dataset: Dataset) -> ResponseReturnValue:
    changes = json_body(schemas.SamplePatch())["cells"]
    cells = {**curation.sample_cells(sample), **changes}
    try:
        curation.edit_sample(dataset, sample, current_user, cells)
    except curation.SampleEditError as error:
        raise ApiError(
            422,
            "Unprocessable Content",
            "Some cells do not follow the checklist; each entry of 'errors' names one.",
            errors=[
                {"row": None, "column": name, "value": cells.get(name), "message": message}
                for name, message in error.problems.items()
            ],
        ) from None
    db.session.commit()
    return jsonify(sample_json(sample, dataset))


@bp.get("/datasets/<int:dataset_id>/samples.<fmt>")
@access.dataset_route(access.Need.SAMPLES)
@documented(
    summary="A dataset's samples in the uploaded shape, streamed as CSV, TSV or JSON",
    tag=TAG,
    media={200: "text/csv"},
    errors=(403, 404),
)
def dataset_samples(dataset: Dataset, fmt: str) -> ResponseReturnValue:
    if fmt not in API_FORMATS:
        raise ApiError(404, "Not Found", f"Downloads come as {', '.join(API_FORMATS)}.")
    return downloads.dataset_samples(current_user, dataset, fmt)


@bp.post("/datasets/<int:dataset_id>/samples")
@access.dataset_route(access.Need.EDIT)
@idempotent
@documented(
    summary="Upload samples: a file (multipart field 'file': CSV, TSV or XLSX) or a JSON list "
    "of records; all or nothing, checked as on the upload page",
    tag=TAG,
    upload=True,
    body=schemas.SampleRecord,
    body_many=True,
    responses={201: UploadOut},
    errors=(400, 403, 404, 409, 413, 422),
)
def upload_samples(dataset: Dataset) -> ResponseReturnValue:
    with tempfile.TemporaryDirectory(prefix="fairdb-api-") as folder:
        path = Path(folder) / "upload"
        filename = _save_body(path)
        result = ingest.ingest_samples(dataset, path, filename, current_user)
    return _stored_or_problem(dataset, result, filename)


def _save_body(path: Path) -> str:
    """The uploaded file, or the JSON records written as CSV (row 2 is the first record, as
    in a file with its header on row 1). Returns the name the upload is recorded under."""
    upload = request.files.get("file")
    if upload is not None:
        upload.save(path)
        return Path(upload.filename or "upload.csv").name
    if request.mimetype != "application/json":
        raise ApiError(
            400,
            "Bad Request",
            "Send a file in the multipart field 'file', or a JSON list of records with "
            "Content-Type: application/json.",
        )
    records = json_payload()
    if not isinstance(records, list):
        raise ApiError(
            422, "Unprocessable Content", "Send a JSON list of records (objects), or a file."
        )
    if not records:
        raise ApiError(422, "Unprocessable Content", "The list of records is empty.")
    if len(records) > MAX_RECORDS:
        raise ApiError(
            413, "Content Too Large", f"Send at most {MAX_RECORDS:,} records per request."
        )
    _records_as_csv(records, path)
    return "records.json"


# What a cell may be in a JSON record (orjson gives exactly these types).
_CELL_TYPES = frozenset({str, int, float, bool, type(None)})
_TEXT_TYPES = frozenset({str, type(None)})


def _records_as_csv(records: list[Any], path: Path) -> None:
    """JSON records written as the CSV file the upload then reads. The cells are checked by
    the checklist's rules as in any upload; here only the shape (schemas.SampleRecord, which
    documents it): an object of text or numbers per record, the columns in order of first use;
    numbers and booleans are written as Python writes them (str)."""
    columns: dict[str, None] = {}
    first = tuple(records[0]) if type(records[0]) is dict else ()
    uniform, plain = True, True  # every record has the first's keys in order; only text
    last: tuple[str, ...] = ()
    for number, record in enumerate(records, start=2):
        if type(record) is not dict:
            raise ApiError(
                422,
                "Unprocessable Content",
                "Each record maps field names to cell text.",
                errors=[{"row": number, "message": "A record is an object, not a list or text."}],
            )
        kinds = set(map(type, record.values()))
        if not _CELL_TYPES.issuperset(kinds):
            column, value = next((k, v) for k, v in record.items() if type(v) not in _CELL_TYPES)
            raise ApiError(
                422,
                "Unprocessable Content",
                "Each record maps field names to cell text.",
                errors=[
                    {
                        "row": number,
                        "column": column,
                        "value": str(value)[:200],
                        "message": "A cell is text or a number, not a list or object.",
                    }
                ],
            )
        plain = plain and _TEXT_TYPES.issuperset(kinds)
        keys = tuple(record)
        if keys != last:
            columns.update(dict.fromkeys(keys))
            uniform = uniform and keys == first
            last = keys
    # Column by column into polars, which writes the CSV (a csv.writer took 2 s for 100,000
    # records); records of one shape are turned into columns by zip, in C. Cells come out as
    # csv.writer wrote them: None and "" empty, other values str().
    if uniform:
        cells: list[Any] = list(zip(*(record.values() for record in records), strict=True))
    else:
        cells = [[record.get(name) for record in records] for name in columns]
    if not plain:
        cells = [_column_text(column) for column in cells]
    schema = dict.fromkeys(columns, pl.String)
    frame = pl.DataFrame(dict(zip(columns, cells, strict=True)), schema=schema)
    frame.with_columns(pl.when(pl.all() != "").then(pl.all())).write_csv(path)


def _column_text(values: Any) -> Any:
    if _TEXT_TYPES.issuperset(map(type, values)):
        return values
    return [value if value is None or type(value) is str else str(value) for value in values]


def _stored_or_problem(
    dataset: Dataset, result: ingest.IngestResult, filename: str
) -> ResponseReturnValue:
    if not result.ok:
        db.session.rollback()
        report = result.report()
        raise ApiError(
            result.status,
            HTTPStatus(result.status).phrase,
            f"Nothing was stored: {result.error_count:,} problem(s) in {filename}. Each entry "
            "of 'errors' names the row, the column, the value and the fix.",
            errors=report["errors"],
            error_count=result.error_count,
        )
    curation.record_upload(
        dataset.id, current_user, filename, "samples", result.stored, result.summary
    )
    db.session.commit()
    search_orders.after_upload()
    return created(
        {
            "stored": result.stored,
            "upload_id": result.upload_id,
            "rows_checked": result.rows_checked,
            "unrecognised": result.unrecognised,
            "summary": result.summary,
        },
        url_for("api.get_dataset", dataset_id=dataset.id, _external=True),
    )
