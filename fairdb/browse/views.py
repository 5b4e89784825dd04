"""Routes of the browse blueprint: dataset list, dataset page, samples download, and the
abundance table pages with their chart data."""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import func, select

from fairdb.abundance import analysis, diversity
from fairdb.checklists.model import get_checklist
from fairdb.extensions import db
from fairdb.models import LICENSES, AbundanceTable, Dataset, Sample, Upload
from fairdb.services import access, citation, datasets, export, summaries

bp = Blueprint("browse", __name__)
PREVIEW_ROWS = 50


@bp.route("/datasets")
@access.open_route
def datasets_list() -> ResponseReturnValue:
    counts = (
        select(Sample.dataset_id, func.count().label("n")).group_by(Sample.dataset_id).subquery()
    )
    rows = db.session.execute(
        select(Dataset, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.dataset_id == Dataset.id)
        .where(access.visible_datasets(current_user))
        .order_by(Dataset.updated_at.desc())
    ).all()
    return render_template("browse/datasets.html", rows=rows)


@bp.route("/datasets/<int:dataset_id>", endpoint="dataset")
@access.dataset_route(access.Need.CATALOGUE)
def dataset_page(dataset: Dataset) -> ResponseReturnValue:
    found = dataset
    see_samples = access.can_see_samples(current_user, found)
    preview: list[Sample] = []
    columns: list[str] = []
    if see_samples:
        preview = list(
            db.session.scalars(
                select(Sample)
                .where(access.samples_of(current_user, found))
                .order_by(Sample.id)
                .limit(PREVIEW_ROWS)
            )
        )
        columns = export.export_columns(found)[:12]
    count = datasets.sample_count(found.id)
    url = url_for("browse.dataset", dataset_id=found.id, _external=True)
    publisher = current_app.config["SITE_NAME"]
    download = (
        url_for("browse.samples_csv", dataset_id=found.id, _external=True)
        if see_samples and count
        else None
    )
    return render_template(
        "browse/dataset.html",
        dataset=found,
        count=count,
        citation=citation.citation_text(found, url, publisher),
        bibtex=citation.bibtex(found, url, publisher),
        json_ld=citation.schema_org(
            found, url, publisher, sample_count=count, download_url=download
        ),
        uploads=datasets.uploads_of(found.id),
        tables=datasets.tables_of(found.id) if see_samples else [],
        preview=preview,
        columns=columns,
        see_samples=see_samples,
        can_edit=access.can_edit_dataset(current_user, found),
        can_manage=access.can_manage_dataset(current_user, found),
        license_name=LICENSES.get(found.license, found.license),
        cell=export.cell,
    )


@bp.route("/datasets/<int:dataset_id>/samples.csv")
@access.dataset_route(access.Need.SAMPLES)
def samples_csv(dataset: Dataset) -> ResponseReturnValue:
    found = dataset
    slug = re.sub(r"[^A-Za-z0-9]+", "-", found.title).strip("-")[:60] or "dataset"
    return Response(
        stream_with_context(export.samples_csv(found, access.samples_of(current_user, found))),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="fairdb-{found.id}-{slug}.csv"'},
    )


def _table(dataset: Dataset, table_id: int) -> tuple[Dataset, AbundanceTable]:
    """A stored abundance table of the dataset (whose route checked access), else 404."""
    table = db.session.get(AbundanceTable, table_id)
    if table is None or table.dataset_id != dataset.id:
        abort(404)
    return dataset, table


def _group_fields(dataset: Dataset) -> list[str]:
    """Metadata fields a chart can group or colour by: those used in the dataset."""
    return [c for c in export.export_columns(dataset) if c != "samp_name"]


def _field_arg(dataset: Dataset, name: str) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in _group_fields(dataset):
        abort(400, description=f"{name}={value!r} is not a field of this dataset's samples.")
    return value


@bp.route("/datasets/<int:dataset_id>/tables/<int:table_id>")
@access.dataset_route(access.Need.SAMPLES)
def table(dataset: Dataset, table_id: int) -> ResponseReturnValue:
    found, record = _table(dataset, table_id)
    return render_template(
        "browse/table.html",
        dataset=found,
        table=record,
        upload=record.upload,
        ranks=analysis.COMPOSITION_LEVELS,
        metrics=diversity.BETA_METRICS,
        fields=_group_fields(found),
    )


@bp.route("/datasets/<int:dataset_id>/tables/<int:table_id>/composition.json")
@access.dataset_route(access.Need.SAMPLES)
def composition(dataset: Dataset, table_id: int) -> ResponseReturnValue:
    found, record = _table(dataset, table_id)
    level = request.args.get("level", "genus")
    if level not in analysis.COMPOSITION_LEVELS:
        abort(400, description=f"level must be one of {', '.join(analysis.COMPOSITION_LEVELS)}.")
    top = request.args.get("top", 10, type=int) or 10
    data = analysis.composition(
        record,
        level,
        top=max(1, min(top, 30)),
        group=_field_arg(found, "group"),
        mean=request.args.get("view") == "mean",
    )
    return jsonify(data)


@bp.route("/datasets/<int:dataset_id>/tables/<int:table_id>/alpha.json")
@access.dataset_route(access.Need.SAMPLES)
def alpha(dataset: Dataset, table_id: int) -> ResponseReturnValue:
    found, record = _table(dataset, table_id)
    return jsonify(analysis.alpha_table(record, group=_field_arg(found, "group")))


def _metric() -> tuple[str, float]:
    metric = request.args.get("metric", "braycurtis")
    if metric not in diversity.BETA_METRICS:
        abort(400, description=f"metric must be one of {', '.join(diversity.BETA_METRICS)}.")
    pseudocount = request.args.get("pseudocount", 1.0, type=float)
    if pseudocount is None or not 0 < pseudocount <= 1e6:
        abort(400, description="pseudocount must be a number above 0, e.g. 1 or 0.5.")
    return metric, pseudocount


@bp.route("/datasets/<int:dataset_id>/tables/<int:table_id>/ordination.json")
@access.dataset_route(access.Need.SAMPLES)
def ordination(dataset: Dataset, table_id: int) -> ResponseReturnValue:
    found, record = _table(dataset, table_id)
    metric, pseudocount = _metric()
    return jsonify(
        analysis.ordination(
            record, metric, color=_field_arg(found, "color"), pseudocount=pseudocount
        )
    )


@bp.route("/datasets/<int:dataset_id>/tables/<int:table_id>/distances.csv")
@access.dataset_route(access.Need.SAMPLES)
def distances_csv(dataset: Dataset, table_id: int) -> ResponseReturnValue:
    _, record = _table(dataset, table_id)
    metric, pseudocount = _metric()
    body, _total = analysis.distance_csv(record, metric, pseudocount=pseudocount)
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": (
                f'attachment; filename="fairdb-table-{record.id}-{metric}-distances.csv"'
            )
        },
    )


@bp.route("/datasets/<int:dataset_id>/samples/<path:name>")
@access.dataset_route(access.Need.SAMPLES)
def sample(dataset: Dataset, name: str) -> ResponseReturnValue:
    """One sample: every cell as uploaded with what the checklist says it means, and its
    composition in each abundance table that holds it."""
    found = dataset
    record = db.session.scalars(
        select(Sample).where(Sample.dataset_id == found.id, Sample.samp_name == name)
    ).first()
    if record is None or not access.can_see_sample(current_user, found, record):
        abort(404)
    shared = None
    if record.upload_id is not None:
        upload = db.session.get(Upload, record.upload_id)
        shared = upload.shared_cells if upload is not None else None
    checklist = get_checklist(found.checklist)
    known = {spec.name: spec for spec in checklist.fields}
    # This sample's own columns (not the whole dataset's, which takes a scan of every sample):
    # its kept cells, its upload's shared ones and the fields its typed values rebuild.
    present = {*record.attributes, *(shared or {})} | {
        name for name in export.TYPED_SOURCES if export.canonical(record, name) is not None
    }
    order = [spec.name for spec in checklist.fields if spec.name in present]
    order += sorted(present - set(order))
    cells = [
        (column, value, known.get(column))
        for column in order
        if (value := export.cell(record, column, shared))
    ]
    compositions = []
    for table in datasets.tables_of(found.id):
        shares = analysis.sample_composition(table, record.id)
        if shares:
            compositions.append((table, shares))
    return render_template(
        "browse/sample.html",
        dataset=found,
        sample=record,
        cells=cells,
        compositions=compositions,
        checklist=checklist,
    )


@bp.route("/datasets/<int:dataset_id>/summary.json")
@access.dataset_route(access.Need.SAMPLES)
def summary(dataset: Dataset) -> ResponseReturnValue:
    """Counts of the dataset's samples by country, year, body site, host sex and age."""
    return jsonify(summaries.dataset_summary(dataset.id))
