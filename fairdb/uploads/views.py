"""Routes of the uploads blueprint: new dataset, upload a file, progress, report, templates."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm

from fairdb.abundance.ingest import ingest_abundance
from fairdb.checklists.model import checklist_names, get_checklist
from fairdb.extensions import db
from fairdb.models import Dataset, Privacy, UploadAttempt
from fairdb.services import (
    access,
    attempts,
    curation,
    datasets,
    ingest,
    reports,
    search_orders,
    templates,
)
from fairdb.uploads.forms import AbundanceForm, DatasetForm, UploadForm

bp = Blueprint("uploads", __name__)


@bp.route("/datasets/new", methods=["GET", "POST"])
@access.signed_in_route
def new_dataset() -> ResponseReturnValue:
    form = DatasetForm()
    if form.validate_on_submit():
        dataset = datasets.create_dataset(
            current_user,
            title=form.title.data or "",
            description=form.description.data or "",
            creators=datasets.parse_creators(form.creators.data or ""),
            keywords=datasets.parse_keywords(form.keywords.data or ""),
            license=form.license.data,
            privacy=Privacy(form.privacy.data),
            checklist=form.checklist.data,
        )
        db.session.commit()
        flash(f"Dataset “{dataset.title}” created. Now upload its sample metadata.", "success")
        return redirect(url_for("uploads.upload", dataset_id=dataset.id), code=303)
    return render_template("uploads/new_dataset.html", form=form), 400 if form.errors else 200


def _editable_dataset(dataset_id: int) -> Dataset:
    """An attempt's dataset, still editable by its uploader (a removed editor loses reports)."""
    dataset = db.get_or_404(Dataset, dataset_id)
    access.require(access.can_see_dataset(current_user, dataset), exists_for_user=False)
    access.require(access.can_edit_dataset(current_user, dataset))
    return dataset


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.route("/datasets/<int:dataset_id>/upload", methods=["GET", "POST"])
@access.dataset_route(access.Need.EDIT)
def upload(dataset: Dataset) -> ResponseReturnValue:
    form = UploadForm()
    if not form.validate_on_submit():
        return _form_page(form, "uploads/upload.html", dataset)

    token = form.token.data or secrets.token_urlsafe(24)
    upload_file = form.file.data
    filename = Path(upload_file.filename or "upload").name
    with tempfile.TemporaryDirectory(prefix="fairdb-upload-") as folder:
        path = Path(folder) / "file"
        upload_file.save(path)
        result, attempt_id = _ingest(dataset, path, filename, token)

    return _answer(
        result,
        attempt_id,
        dataset,
        f"{result.stored:,} samples stored from {filename}.",
        url_for("browse.dataset", dataset_id=dataset.id),
    )


def _answer(
    result: ingest.IngestResult, attempt_id: int, dataset: Dataset, message: str, target: str
) -> ResponseReturnValue:
    """After an upload: the stored data's page (JSON for the page's script), or the report."""
    if result.ok:
        flash(message, "success")
        if _wants_json():
            return jsonify(status="stored", stored=result.stored, redirect=target), 201
        return redirect(target, code=303)
    report_url = url_for("uploads.report", attempt_id=attempt_id)
    if _wants_json():
        return jsonify(
            status="rejected", error_count=result.error_count, report=report_url
        ), result.status
    attempt = db.get_or_404(UploadAttempt, attempt_id)  # recorded by _ingest a moment ago
    return _render_report(attempt, dataset, status=result.status)


def _form_page(form: FlaskForm, template: str, dataset: Dataset) -> ResponseReturnValue:
    """An upload form not (validly) submitted: the page, or its errors as JSON for the script."""
    status = 400 if form.errors else 200
    if _wants_json() and form.errors:
        return jsonify(status="invalid", errors=form.errors), 400
    return render_template(template, form=form, dataset=dataset), status


def _ingest(
    dataset: Dataset,
    path: Path,
    filename: str,
    token: str,
    run: Callable[[Callable[[int], None]], ingest.IngestResult] | None = None,
    kind: str = "samples",
) -> tuple[ingest.IngestResult, int]:
    """Run an ingest service; commit only a clean file, and record the attempt either way."""
    attempt_id = attempts.start(
        token=token,
        dataset_id=dataset.id,
        user_id=current_user.id,
        filename=filename,
        size=path.stat().st_size,
        kind=kind,
    )

    def report_progress(rows: int) -> None:
        attempts.progress(attempt_id, rows)

    try:
        if run is None:
            result = ingest.ingest_samples(
                dataset, path, filename, current_user, progress=report_progress
            )
        else:
            result = run(report_progress)
        if result.ok:
            curation.record_upload(
                dataset.id, current_user, filename, kind, result.stored, result.summary
            )
            db.session.commit()
            if kind == "samples":
                search_orders.after_upload()
        else:
            db.session.rollback()
    except BaseException:
        db.session.rollback()
        attempts.finish(attempt_id, "failed", {"error_count": 0, "errors": []})
        raise
    attempts.finish(attempt_id, "stored" if result.ok else "rejected", result.report())
    current_app.logger.info(
        "upload checked",
        extra={
            "dataset": dataset.id,
            "kind": kind,
            "stored": result.stored,
            "errors": result.error_count,
        },
    )
    return result, attempt_id


@bp.route("/datasets/<int:dataset_id>/abundance", methods=["GET", "POST"])
@access.dataset_route(access.Need.EDIT)
def upload_abundance(dataset: Dataset) -> ResponseReturnValue:
    form = AbundanceForm()
    if not form.validate_on_submit():
        return _form_page(form, "uploads/abundance.html", dataset)
    token = form.token.data or secrets.token_urlsafe(24)
    filename = Path(form.file.data.filename or "table").name
    taxonomy_file = form.taxonomy.data
    with tempfile.TemporaryDirectory(prefix="fairdb-upload-") as folder:
        path = Path(folder) / "file"
        form.file.data.save(path)
        taxonomy: tuple[Path, str] | None = None
        if taxonomy_file and getattr(taxonomy_file, "filename", ""):
            taxonomy = (Path(folder) / "taxonomy", Path(taxonomy_file.filename).name)
            taxonomy_file.save(taxonomy[0])

        def run(progress: Callable[[int], None]) -> ingest.IngestResult:
            return ingest_abundance(
                dataset,
                path,
                filename,
                current_user,
                orientation=form.orientation.data or "auto",
                taxonomy=taxonomy,
                progress=progress,
            )

        result, attempt_id = _ingest(dataset, path, filename, token, run, kind="abundance")
    summary = result.summary
    message = (
        f"{result.stored:,} non-zero entries stored from {filename}: "
        f"{summary.get('features', 0):,} features x {summary.get('samples', 0):,} samples, "
        f"read with {summary.get('orientation', '').replace('-', ' ')}."
    )
    target = url_for("browse.table", dataset_id=dataset.id, table_id=result.upload_id or 0)
    return _answer(result, attempt_id, dataset, message, target)


def _render_report(attempt: UploadAttempt, dataset: Dataset, *, status: int) -> ResponseReturnValue:
    report = attempt.report or {}
    findings = reports.group_errors(report.get("errors", []))
    return (
        render_template(
            "uploads/report.html",
            attempt=attempt,
            dataset=dataset,
            report=report,
            findings=findings,
            form=AbundanceForm() if attempt.kind == "abundance" else UploadForm(),
        ),
        status,
    )


@bp.route("/uploads/progress/<token>")
@access.attempt_route
def progress(attempt: UploadAttempt | None) -> ResponseReturnValue:
    """Polled while a file uploads, before its attempt may exist."""
    if attempt is None:
        return jsonify(status="waiting", rows_done=0)
    return jsonify(status=attempt.status, rows_done=attempt.rows_done)


@bp.route("/uploads/<int:attempt_id>")
@access.attempt_route
def report(attempt: UploadAttempt) -> ResponseReturnValue:
    dataset = _editable_dataset(attempt.dataset_id)
    return _render_report(attempt, dataset, status=200)


@bp.route("/uploads/<int:attempt_id>/report.csv")
@access.attempt_route
def report_csv(attempt: UploadAttempt) -> ResponseReturnValue:
    _editable_dataset(attempt.dataset_id)
    body = reports.report_csv((attempt.report or {}).get("errors", []))
    name = Path(attempt.filename).stem or "upload"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}-errors.csv"'},
    )


@bp.route("/checklists/<name>/template.<fmt>")
@access.open_route
def template(name: str, fmt: str) -> ResponseReturnValue:
    if name not in checklist_names() or fmt not in ("csv", "xlsx"):
        abort(404)
    checklist = get_checklist(name)
    body: str | bytes
    if fmt == "csv":
        body = templates.template_csv(checklist)
        mimetype = "text/csv"
    else:
        body = templates.template_xlsx(checklist)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}-template.{fmt}"'},
    )
