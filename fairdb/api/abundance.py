"""API routes for abundance tables: upload, compositions, feature tables, diversity."""

from __future__ import annotations

import tempfile
from http import HTTPStatus
from pathlib import Path
from typing import Any

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select

from fairdb.abundance import analysis
from fairdb.abundance.ingest import ingest_abundance
from fairdb.api.core import ApiError, bp, created, documented, field_errors, idempotent
from fairdb.api.datasets import query_args
from fairdb.browse import downloads
from fairdb.extensions import db
from fairdb.models import AbundanceTable, Dataset, Sample, SampleTotal, Upload
from fairdb.schemas import api_abundance as schemas
from fairdb.services import access, curation, datasets, export
from fairdb.services.ingest import IngestResult

TAG = "Abundance"


def table_json(table: AbundanceTable, upload: Upload) -> dict[str, Any]:
    ids: dict[str, Any] = {"dataset_id": table.dataset_id, "table_id": table.id, "_external": True}
    return {
        "id": table.id,
        "dataset_id": table.dataset_id,
        "filename": upload.filename,
        "features": table.feature_count,
        "samples": table.sample_count,
        "entries": table.entry_count,
        "value_kind": table.value_kind,
        "orientation": table.orientation,
        "taxonomy_source": table.taxonomy_source,
        "created": upload.created_at.isoformat(),
        "links": {
            "self": url_for("api.get_table", **ids),
            "entries": url_for("api.table_entries", **ids),
            "alpha": url_for("api.table_alpha", **ids),
            "beta": url_for("api.table_beta", **ids),
            "page": url_for("browse.table", **ids),
        },
    }


def _uploads(tables: list[AbundanceTable]) -> dict[int, Upload]:
    """The tables' upload rows in one query (a table's id is its upload's)."""
    found = select(Upload).where(Upload.id.in_([t.id for t in tables]))
    return {upload.id: upload for upload in db.session.scalars(found)}


def _table(dataset: Dataset, table_id: int) -> AbundanceTable:
    table = datasets.table_of(dataset, table_id)
    if table is None:
        raise ApiError(404, "Not Found", f"Dataset {dataset.id} has no abundance table {table_id}.")
    return table


@bp.get("/datasets/<int:dataset_id>/tables")
@access.dataset_route(access.Need.SAMPLES)
@documented(
    summary="A dataset's abundance tables",
    tag=TAG,
    responses={200: schemas.TableList},
    errors=(403, 404),
)
def list_tables(dataset: Dataset) -> ResponseReturnValue:
    tables = datasets.tables_of(dataset.id)
    uploads = _uploads(tables)
    return jsonify(items=[table_json(table, uploads[table.id]) for table in tables])


@bp.get("/datasets/<int:dataset_id>/tables/<int:table_id>")
@access.dataset_route(access.Need.SAMPLES)
@documented(
    summary="One abundance table: its file, size, how it was read, and links to its data",
    tag=TAG,
    responses={200: schemas.TableOut},
    errors=(403, 404),
)
def get_table(dataset: Dataset, table_id: int) -> ResponseReturnValue:
    table = _table(dataset, table_id)
    return jsonify(table_json(table, table.upload))


@bp.post("/datasets/<int:dataset_id>/tables")
@access.dataset_route(access.Need.EDIT)
@idempotent
@documented(
    summary="Upload a feature table as on the upload page (multipart: 'file' CSV, TSV or BIOM; "
    "optional 'taxonomy' file and 'orientation': auto, features-as-rows or samples-as-rows); "
    "all or nothing",
    tag=TAG,
    upload=True,
    form=schemas.TableUploadForm,
    responses={201: schemas.TableUploadOut},
    errors=(400, 403, 404, 409, 413, 415, 422),
)
def upload_table(dataset: Dataset) -> ResponseReturnValue:
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(
            400,
            "Bad Request",
            "Send the feature table in the multipart/form-data field 'file'.",
            errors=[{"column": "file", "message": "Missing."}],
        )
    try:
        options = schemas.TableUploadForm().load(request.form.to_dict())
    except ValidationError as error:
        raise ApiError(
            422,
            "Unprocessable Content",
            "A form field is not valid; each entry of 'errors' names one.",
            errors=field_errors(error.messages),
        ) from None
    filename = Path(upload.filename or "table").name
    with tempfile.TemporaryDirectory(prefix="fairdb-api-") as folder:
        path = Path(folder) / "table"
        upload.save(path)
        taxonomy: tuple[Path, str] | None = None
        taxonomy_file = request.files.get("taxonomy")
        if taxonomy_file is not None and taxonomy_file.filename:
            taxonomy = (Path(folder) / "taxonomy", Path(taxonomy_file.filename).name)
            taxonomy_file.save(taxonomy[0])
        result = ingest_abundance(
            dataset,
            path,
            filename,
            current_user,
            orientation=options["orientation"],
            taxonomy=taxonomy,
        )
    return _stored_or_problem(dataset, result, filename)


def _stored_or_problem(
    dataset: Dataset, result: IngestResult, filename: str
) -> ResponseReturnValue:
    if not result.ok:
        db.session.rollback()
        raise ApiError(
            result.status,
            HTTPStatus(result.status).phrase,
            f"Nothing was stored: {result.error_count:,} problem(s) in {filename}. Each entry "
            "of 'errors' names the row, the column, the value and the fix.",
            errors=result.report()["errors"],
            error_count=result.error_count,
        )
    curation.record_upload(
        dataset.id, current_user, filename, "abundance", result.stored, result.summary
    )
    db.session.commit()
    table = db.get_or_404(AbundanceTable, result.upload_id)  # stored by the ingest just now
    body: dict[str, Any] = {
        "stored": result.stored,
        "upload_id": table.id,
        "rows_checked": result.rows_checked,
        "summary": result.summary,
        "table": table_json(table, table.upload),
    }
    return created(body, body["table"]["links"]["self"])


@bp.get("/datasets/<int:dataset_id>/tables/<int:table_id>/entries.tsv")
@access.dataset_route(access.Need.SAMPLES)
@documented(
    summary="A feature table as sparse long TSV (feature_id, lineage, sample, value: one line "
    "per non-zero entry of a sample you may read), streamed",
    tag=TAG,
    media={200: "text/tab-separated-values"},
    errors=(403, 404),
)
def table_entries(dataset: Dataset, table_id: int) -> ResponseReturnValue:
    table = _table(dataset, table_id)
    pieces = export.entries_tsv(table, access.samples_of(current_user, dataset))
    return downloads.attachment(pieces, "tsv", f"fairdb-table-{table.id}")


@bp.get("/samples/<int:sample_id>/composition")
@access.sample_route(access.Need.SAMPLES)
@documented(
    summary="One sample's largest taxa at a rank (the rest as Other), in each abundance table "
    "that holds it",
    tag=TAG,
    query=schemas.CompositionQuery,
    responses={200: schemas.SampleComposition},
    errors=(400, 403, 404),
)
def sample_composition(sample: Sample, dataset: Dataset) -> ResponseReturnValue:
    args = query_args(schemas.CompositionQuery())
    tables = datasets.tables_of(dataset.id)
    uploads = _uploads(tables)
    found = []
    for table in tables:
        shares = analysis.sample_composition(table, sample.id, args["rank"], args["top"])
        if shares:
            found.append(
                {
                    "table_id": table.id,
                    "filename": uploads[table.id].filename,
                    "taxa": [{"taxon": taxon, "share": share} for taxon, share in shares],
                }
            )
    return jsonify(
        sample_id=sample.id,
        dataset_id=dataset.id,
        samp_name=sample.samp_name,
        rank=args["rank"],
        top=args["top"],
        tables=found,
    )


def _selection(
    dataset: Dataset, table: AbundanceTable, chosen: list[int] | None
) -> tuple[frozenset[int], dict[int, str]]:
    """The table's samples to leave out (those the caller may not read, and those not chosen)
    and the names of the rest by id. A chosen id the caller cannot read in this table is a
    422 naming it (the same words whether it is missing or hidden: nothing leaks)."""
    hidden = access.hidden_samples(current_user, dataset)
    held: dict[int, str] = {
        sample_id: name
        for sample_id, name in db.session.execute(
            select(Sample.id, Sample.samp_name)
            .join(SampleTotal, SampleTotal.sample_id == Sample.id)
            .where(SampleTotal.table_id == table.id, Sample.dataset_id == dataset.id)
        )
    }
    if chosen is None:
        return hidden, {i: name for i, name in held.items() if i not in hidden}
    unknown = [i for i in chosen if i not in held or i in hidden]
    if unknown:
        raise ApiError(
            422,
            "Unprocessable Content",
            f"{len(unknown):,} of the selected samples are not in table {table.id}, or not "
            "yours to read; each entry of 'errors' names one.",
            errors=[
                {"column": "samples", "value": str(i), "message": f"No readable sample {i}."}
                for i in unknown[:1000]
            ],
            error_count=len(unknown),
        )
    kept = set(chosen)
    return frozenset(held.keys() - kept), {i: held[i] for i in chosen}


@bp.get("/datasets/<int:dataset_id>/tables/<int:table_id>/alpha")
@access.dataset_route(access.Need.SAMPLES)
@documented(
    summary="Alpha diversity (observed features, Shannon, Simpson, Chao1) of the selected "
    "samples, as on the table's page",
    tag=TAG,
    query=schemas.AlphaQuery,
    responses={200: schemas.AlphaOut},
    errors=(400, 403, 404, 422),
)
def table_alpha(dataset: Dataset, table_id: int) -> ResponseReturnValue:
    table = _table(dataset, table_id)
    args = query_args(schemas.AlphaQuery())
    left_out, names = _selection(dataset, table, args.get("samples"))
    found = analysis.alpha_table(table, hidden=left_out)
    ids = {name: sample_id for sample_id, name in names.items()}
    rows = [
        {
            "sample_id": ids[row["sample"]],
            "sample": row["sample"],
            "observed": int(row["observed"]),
            **{metric: row.get(metric) for metric in schemas.ALPHA_METRICS[1:]},
        }
        for row in found["rows"]
    ]
    metrics = [m for m in found["metrics"] if m in schemas.ALPHA_METRICS]
    return jsonify(table_id=table.id, value_kind=table.value_kind, metrics=metrics, rows=rows)


@bp.get("/datasets/<int:dataset_id>/tables/<int:table_id>/beta")
@access.dataset_route(access.Need.SAMPLES)
@documented(
    summary=f"Beta diversity: the distance matrix of the selected samples (at most "
    f"{analysis.MAX_ORDINATION_SAMPLES:,}, the first by id, as on the table's page; "
    "'truncated' says when more were selected)",
    tag=TAG,
    query=schemas.BetaQuery,
    responses={200: schemas.BetaOut},
    errors=(400, 403, 404, 422),
)
def table_beta(dataset: Dataset, table_id: int) -> ResponseReturnValue:
    table = _table(dataset, table_id)
    args = query_args(schemas.BetaQuery())
    left_out, names = _selection(dataset, table, args.get("samples"))
    metric, pseudocount = args["metric"], args["pseudocount"]
    limit = analysis.MAX_ORDINATION_SAMPLES
    entries, matrix, total = analysis.distances(
        table, metric, pseudocount=pseudocount, max_samples=limit, hidden=left_out
    )
    ids = [int(i) for i in entries.sample_ids.tolist()]
    return jsonify(
        table_id=table.id,
        metric=metric,
        pseudocount=pseudocount if metric == "aitchison" else None,
        sample_ids=ids,
        samples=[names.get(i, str(i)) for i in ids],
        matrix=matrix.tolist(),
        total_samples=total,
        truncated=total > len(ids),
        limit=limit,
    )
