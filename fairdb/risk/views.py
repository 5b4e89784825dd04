"""Routes of the privacy blueprint: the risk report of a dataset or of a file, generalising a
dataset to targets and saving the anonymised version, and noisy summaries with their budget."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from wtforms import SelectChoice

from fairdb.extensions import db
from fairdb.models import Dataset
from fairdb.risk.forms import FileRiskForm, NoisyForm, SaveVersionForm
from fairdb.services import access, datasets, search_orders
from fairdb.services.privacy import anonymised, generalise, noisy, records, risk
from fairdb.services.privacy.hierarchies import HIERARCHIES
from fairdb.services.tables import TableError

bp = Blueprint("risk", __name__)


def _number(name: str, default: Any, low: float, high: float, kind: type = int) -> Any:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        abort(400, description=f"{name}: {raw!r} is not a number.")
    if not low <= value <= high:
        abort(400, description=f"{name}: choose a value from {low:g} to {high:g}.")
    return value


def _choice(dataset: Dataset) -> records.Choice:
    """The quasi-identifiers and sensitive attributes in the URL, else the suggested ones the
    dataset's samples fill (from its column statistics)."""
    if "k" not in request.args:
        suggested = records.suggested(dataset.checklist)
        statistics = datasets.column_statistics(dataset)
        if statistics is None:
            return suggested
        filled = {n for n, entry in statistics["columns"].items() if entry.get("filled")}
        return records.Choice(
            tuple(q for q in suggested.quasi if q in filled) or suggested.quasi,
            tuple(s for s in suggested.sensitive if s in filled),
        )
    extra = [n.strip() for n in request.args.get("extra", "").split(",") if n.strip()]
    try:
        return records.choose(
            dataset.checklist,
            request.args.getlist("quasi"),
            [*request.args.getlist("sensitive"), *extra],
            records.parse_groupings(request.args.get("groupings", "")),
        )
    except records.ChoiceError as error:
        abort(400, description=str(error))


def measure(frame: Any, choice: records.Choice, k: int) -> risk.RiskReport:
    quasi, attributes = list(choice.quasi), choice.attributes()
    return risk.report(risk.summarise(frame, quasi, attributes), quasi, attributes, k=k)


def _page_context(dataset: Dataset | None, choice: records.Choice, k: int) -> dict[str, Any]:
    checklist = dataset.checklist if dataset is not None else "MimsHumanGut"
    return {
        "dataset": dataset,
        "choice": choice,
        "k": k,
        "hierarchies": HIERARCHIES,
        "sensitive_options": records.suggested(checklist).sensitive,
        "formula": risk.SCORE_FORMULA,
    }


@bp.get("/datasets/<int:dataset_id>/risk")
@access.dataset_route(access.Need.EDIT)
def report(dataset: Dataset) -> ResponseReturnValue:
    """The re-identification risk of the dataset's samples for the chosen attributes."""
    choice = _choice(dataset)
    k = _number("k", 5, 2, 1000)
    result = None
    if "k" in request.args:
        result = measure(records.dataset_records(dataset.id, choice), choice, k)
    return render_template("risk/report.html", result=result, **_page_context(dataset, choice, k))


@bp.route("/risk/file", methods=["GET", "POST"])
@access.signed_in_route
def file_report() -> ResponseReturnValue:
    """The risk of a sample file before it becomes a dataset; the file is not kept."""
    form = FileRiskForm()
    choice = records.suggested(form.checklist.data or "MimsHumanGut")
    result = found = None
    status = 200
    if form.validate_on_submit():
        try:
            extra = [n.strip() for n in request.form.get("extra", "").split(",") if n.strip()]
            choice = records.choose(
                form.checklist.data,
                request.form.getlist("quasi") or list(choice.quasi),
                [*request.form.getlist("sensitive"), *extra],
                records.parse_groupings(request.form.get("groupings", "")),
            )
        except records.ChoiceError as error:
            form.file.errors = [str(error)]
            status = 400
        else:
            upload = form.file.data
            with tempfile.TemporaryDirectory(prefix="fairdb-risk-") as folder:
                path = Path(folder) / "file"
                upload.save(path)
                try:
                    found = records.file_records(
                        path, upload.filename or "file", form.checklist.data, choice
                    )
                except (TableError, records.ChoiceError) as error:
                    form.file.errors = [str(error)]
                    status = 400
            if found is not None:
                result = measure(found.records, choice, int(request.form.get("k") or 5))
    elif form.errors:
        status = 400
    context = _page_context(None, choice, int(request.form.get("k") or 5))
    return render_template(
        "risk/file.html", form=form, result=result, found=found, **context
    ), status


def _targets() -> generalise.Targets:
    return generalise.Targets(
        k=_number("k", 5, 2, 1000),
        l=_number("l", None, 2, 100),
        t=_number("t", None, 0.0, 1.0, float),
        max_suppressed=_number("max_suppressed", 0, 0, 10_000_000),
    )


@bp.get("/datasets/<int:dataset_id>/risk/generalise")
@access.dataset_route(access.Need.EDIT)
def generalise_page(dataset: Dataset) -> ResponseReturnValue:
    """The least-loss generalisation that meets the targets, before and after side by side."""
    choice = _choice(dataset)
    targets = _targets()
    frame = records.dataset_records(dataset.id, choice)
    solution = anonymised.solve(frame, choice, targets)
    preview = anonymised.preview(frame, choice, solution) if solution.found else None
    form = SaveVersionForm(title=f"{dataset.title} (anonymised, k={targets.k})")
    return render_template(
        "risk/generalise.html",
        solution=solution,
        targets=targets,
        preview=preview,
        form=form,
        query=request.query_string.decode(),
        can_save=access.can_manage_dataset(current_user, dataset),
        **_page_context(dataset, choice, targets.k),
    )


@bp.post("/datasets/<int:dataset_id>/risk/generalise")
@access.dataset_route(access.Need.MANAGE)
def save_version(dataset: Dataset) -> ResponseReturnValue:
    """Store the generalised samples as a new private dataset; the original stays as it is."""
    form = SaveVersionForm()
    if not form.validate_on_submit():
        abort(400, description="Give the anonymised version a title.")
    choice = _choice(dataset)
    targets = _targets()
    frame = records.dataset_records(dataset.id, choice)
    solution = anonymised.solve(frame, choice, targets)
    if not solution.found:
        abort(400, description="No generalisation meets these targets; change them and retry.")
    version = anonymised.save(dataset, current_user, form.title.data or "", choice, solution)
    db.session.commit()
    search_orders.after_upload()
    flash(
        f"Anonymised version “{version.title}” saved as a private dataset "
        f"({solution.suppressed} records suppressed). Publish it from its settings.",
        "success",
    )
    return redirect(url_for("browse.dataset", dataset_id=version.id), code=303)


def _questions() -> list[SelectChoice]:
    return [
        SelectChoice(f"{kind} {name}", noisy.question_label(name, kind))
        for name, kind in noisy.questions()
    ]


@bp.get("/datasets/<int:dataset_id>/noisy")
@access.dataset_route(access.Need.CATALOGUE)
def noisy_summaries(dataset: Dataset) -> ResponseReturnValue:
    """Summaries of a dataset answered with noise from its privacy budget: the answers given
    so far are shown to everyone who may find the dataset, for free."""
    return _noisy_page(dataset, _noisy_form(), 200)


@bp.post("/datasets/<int:dataset_id>/noisy")
@access.dataset_route(access.Need.ASK)
def ask_noisy(dataset: Dataset) -> ResponseReturnValue:
    """Ask a new question (signed in): paid from the budget, refused once it is spent."""
    form = _noisy_form()
    if not form.validate_on_submit():
        return _noisy_page(dataset, form, 400)
    kind, _, name = (form.question.data or "").partition(" ")
    try:
        noisy.ask(current_user, dataset, name, kind, form.epsilon.data)
    except noisy.BudgetSpent as spent:
        form.question.errors = [
            f"The privacy budget left ({spent.remaining:.2f}) cannot pay for this question; "
            "the answers already given stay below."
        ]
        return _noisy_page(dataset, form, 409)
    except noisy.UnknownQuestion as error:
        form.question.errors = [str(error)]
        return _noisy_page(dataset, form, 400)
    db.session.commit()
    return redirect(url_for("risk.noisy_summaries", dataset_id=dataset.id), code=303)


def _noisy_form() -> NoisyForm:
    form = NoisyForm()
    form.question.choices = _questions()
    return form


def _noisy_page(dataset: Dataset, form: NoisyForm, status: int) -> ResponseReturnValue:
    return render_template(
        "risk/noisy.html",
        dataset=dataset,
        form=form,
        answers=noisy.answers(dataset),
        remaining=noisy.remaining(dataset),
        budget=noisy.budget(dataset),
    ), status
