"""Routes of the browse blueprint: dataset list, dataset page, samples download, and the
abundance table pages with their chart data."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

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
from sqlalchemy import select

from fairdb.abundance import analysis, diversity
from fairdb.browse import downloads
from fairdb.checklists.model import checklist_names, get_checklist
from fairdb.extensions import db
from fairdb.models import LICENSES, AbundanceTable, Dataset, Privacy, Sample, Upload
from fairdb.services import (
    access,
    citation,
    datasets,
    export,
    formats,
    search,
    summaries,
)

bp = Blueprint("browse", __name__)
PREVIEW_ROWS = 50


DATASETS_PAGE = 50


@bp.route("/datasets")
@access.open_route
def datasets_list() -> ResponseReturnValue:
    """Every dataset the user may know of, newest change first, with words and filters."""
    words = request.args.get("q", "").strip()[:200]
    chosen = {
        "license": request.args.get("license", ""),
        "checklist": request.args.get("checklist", ""),
        "keyword": request.args.get("keyword", ""),
        "privacy": request.args.get("privacy", ""),
    }
    page = max(1, request.args.get("page", 1, type=int) or 1)
    total, rows = datasets.find_datasets(current_user, words, chosen, page, DATASETS_PAGE)
    return render_template(
        "browse/datasets.html",
        rows=rows,
        total=total,
        words=words,
        chosen=chosen,
        page=page,
        pages=max(1, -(-total // DATASETS_PAGE)),
        licenses=LICENSES,
        checklists=checklist_names(),
        privacies=[p.value for p in Privacy],
    )


@bp.route("/datasets/<int:dataset_id>", endpoint="dataset")
@access.dataset_route(access.Need.CATALOGUE)
def dataset_page(dataset: Dataset) -> ResponseReturnValue:
    found = dataset
    see_samples = access.can_see_samples(current_user, found)
    preview: list[Sample] = []
    columns: list[str] = []
    statistics = None
    if see_samples:
        statistics = datasets.column_statistics(found)
        if statistics is not None and not access.can_see_all_samples(current_user, found):
            statistics = None  # they would count samples of a tighter privacy of their own
        preview = list(
            db.session.scalars(
                select(Sample)
                .where(access.samples_of(current_user, found))
                .order_by(Sample.id)
                .limit(PREVIEW_ROWS)
            )
        )
        columns = (
            list(statistics["columns"])[:12]
            if statistics is not None
            else export.export_columns(found)[:12]
        )
    count = datasets.sample_count(found.id)
    url = url_for("browse.dataset", dataset_id=found.id, _external=True)
    publisher = current_app.config["SITE_NAME"]
    download = (
        url_for("browse.samples_download", dataset_id=found.id, fmt="csv", _external=True)
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
        statistics=statistics,
    )


@bp.route("/datasets/<int:dataset_id>/samples.<fmt>")
@access.dataset_route(access.Need.SAMPLES)
def samples_download(dataset: Dataset, fmt: str) -> ResponseReturnValue:
    """Every sample the reader may see, every column, in the uploaded shape."""
    if fmt not in formats.FORMATS:
        abort(404)
    return downloads.dataset_samples(current_user, dataset, fmt)


@bp.route("/datasets/<int:dataset_id>/bundle.zip")
@access.dataset_route(access.Need.SAMPLES)
def bundle(dataset: Dataset) -> ResponseReturnValue:
    """One ZIP: the samples (CSV), each abundance table (sparse TSV), a DataCite-style
    metadata file and a README, streamed."""
    url = url_for("browse.dataset", dataset_id=dataset.id, _external=True)
    publisher = current_app.config["SITE_NAME"]
    count = datasets.sample_count(dataset.id)
    tables = datasets.tables_of(dataset.id)
    metadata = citation.datacite(dataset, url, publisher, sample_count=count)
    readme = render_template(
        "browse/bundle_readme.txt",
        dataset=dataset,
        url=url,
        citation=citation.citation_text(dataset, url, publisher),
        tables=tables,
        count=count,
    )
    columns = export.export_columns(dataset)
    members: list[tuple[str, Any]] = [
        ("README.txt", [readme.encode()]),
        ("datacite.json", [json.dumps(metadata, indent=2, ensure_ascii=False).encode()]),
        ("samples.csv", downloads.dataset_pieces(current_user, dataset, columns, "csv")),
    ]
    readable = access.samples_of(current_user, dataset)
    members += [
        (f"abundance/table-{table.id}.tsv", export.entries_tsv(table, readable)) for table in tables
    ]
    response = Response(
        stream_with_context(formats.zip_bundle(members)),
        mimetype="application/zip",
        headers={
            "Content-Disposition": (
                f'attachment; filename="fairdb-{dataset.id}-{downloads.slug(dataset)}.zip"'
            )
        },
    )
    return response


def _table(dataset: Dataset, table_id: int) -> tuple[Dataset, AbundanceTable]:
    """A stored abundance table of the dataset (whose route checked access), else 404."""
    table = datasets.table_of(dataset, table_id)
    if table is None:
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
        hidden=access.hidden_samples(current_user, found),
    )
    return jsonify(data)


@bp.route("/datasets/<int:dataset_id>/tables/<int:table_id>/alpha.json")
@access.dataset_route(access.Need.SAMPLES)
def alpha(dataset: Dataset, table_id: int) -> ResponseReturnValue:
    found, record = _table(dataset, table_id)
    return jsonify(
        analysis.alpha_table(
            record,
            group=_field_arg(found, "group"),
            hidden=access.hidden_samples(current_user, found),
        )
    )


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
            record,
            metric,
            color=_field_arg(found, "color"),
            pseudocount=pseudocount,
            hidden=access.hidden_samples(current_user, found),
        )
    )


@bp.route("/datasets/<int:dataset_id>/tables/<int:table_id>/distances.csv")
@access.dataset_route(access.Need.SAMPLES)
def distances_csv(dataset: Dataset, table_id: int) -> ResponseReturnValue:
    _, record = _table(dataset, table_id)
    metric, pseudocount = _metric()
    body, _total = analysis.distance_csv(
        record, metric, pseudocount=pseudocount, hidden=access.hidden_samples(current_user, dataset)
    )
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
        can_edit=access.can_edit_dataset(current_user, found),
    )


@bp.route("/datasets/<int:dataset_id>/summary.json")
@access.dataset_route(access.Need.SAMPLES)
def summary(dataset: Dataset) -> ResponseReturnValue:
    """Counts of the dataset's samples by country, year, body site, host sex and age."""
    return jsonify(summaries.dataset_summary(dataset.id))


def _search_columns() -> dict[str, str]:
    """Columns a search can show: the MIxS human-gut fields, by name, with their labels."""
    checklist = get_checklist("MimsHumanGut")
    return {spec.name: spec.title or spec.name for spec in checklist.fields}


def _query() -> search.SampleQuery:
    try:
        return search.parse(request.args, known_columns=set(_search_columns()))
    except search.QueryError as error:
        abort(400, description=f"{error.parameter}: {error.message}")


@bp.route("/samples")
@access.open_route
def samples() -> ResponseReturnValue:
    """Search samples across every dataset the user may read; shareable through its URL."""
    query = _query()
    total, facets = search.facet_counts(current_user, query)
    found = search.page(current_user, query)
    args = request.args.to_dict(flat=False)
    args.pop("cursor", None)
    here = url_for("browse.samples")
    next_url = (
        f"{here}?{urlencode({**args, 'cursor': found.next_cursor}, doseq=True)}"
        if found.next_cursor
        else None
    )
    first_url = f"{here}?{urlencode(args, doseq=True)}" if query.cursor is not None else None
    template = (
        "browse/_search_results.html" if request.args.get("partial") else "browse/search.html"
    )
    return render_template(
        template,
        query=query,
        total=total,
        facets=facets,
        facet_labels={name: label for name, (label, _) in search.FACETS.items()},
        page=found,
        next_url=next_url,
        first_url=first_url,
        columns=_search_columns(),
        sorts=search.SORT_LABELS,
        download_query=urlencode(
            {k: v for k, v in args.items() if k not in ("partial", "limit")}, doseq=True
        ),
    )


@bp.route("/samples/download.<fmt>")
@access.open_route
def samples_search_download(fmt: str) -> ResponseReturnValue:
    """Every sample the search finds (that the user may see), in the chosen columns."""
    if fmt not in formats.FORMATS:
        abort(404)
    return downloads.search_result(current_user, _query(), fmt)
