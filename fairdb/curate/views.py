"""Routes of the curate blueprint: edit a dataset, its settings (privacy, collaborators),
deletion, and its history."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from fairdb.checklists.model import get_checklist
from fairdb.curate.forms import (
    CollaboratorForm,
    DeleteForm,
    EditDatasetForm,
    EmptyForm,
    PrivacyForm,
)
from fairdb.extensions import db
from fairdb.models import Dataset, Membership, Privacy, Sample
from fairdb.services import access, curation, datasets
from fairdb.services.privacy import guard

bp = Blueprint("curate", __name__)


@bp.route("/datasets/<int:dataset_id>/edit", methods=["GET", "POST"])
@access.dataset_route(access.Need.EDIT)
def edit(dataset: Dataset) -> ResponseReturnValue:
    form = EditDatasetForm()
    if request.method == "GET":
        form.title.data = dataset.title
        form.description.data = dataset.description
        form.creators.data = datasets.format_creators(dataset.creators)
        form.keywords.data = ", ".join(dataset.keywords)
        form.license.data = dataset.license
    elif form.validate_on_submit():
        changed = curation.update_dataset(
            dataset,
            current_user,
            title=(form.title.data or "").strip(),
            description=form.description.data or "",
            creators=datasets.parse_creators(form.creators.data or "") or dataset.creators,
            keywords=datasets.parse_keywords(form.keywords.data or ""),
            license=form.license.data,
        )
        db.session.commit()
        flash(
            f"Saved: {', '.join(changed)}." if changed else "Nothing changed.",
            "success" if changed else "info",
        )
        return redirect(url_for("browse.dataset", dataset_id=dataset.id), code=303)
    return render_template("curate/edit.html", dataset=dataset, form=form), (
        400 if form.errors else 200
    )


def _settings_page(
    dataset: Dataset,
    *,
    member_form: CollaboratorForm | None = None,
    privacy_form: PrivacyForm | None = None,
    verdict: guard.Verdict | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    privacy_form = privacy_form or PrivacyForm(privacy=dataset.privacy.value)
    return (
        render_template(
            "curate/settings.html",
            dataset=dataset,
            members=curation.collaborators(dataset),
            member_form=member_form or CollaboratorForm(),
            privacy_form=privacy_form,
            remove_form=EmptyForm(),
            verdict=verdict,
        ),
        status,
    )


@bp.route("/datasets/<int:dataset_id>/settings")
@access.dataset_route(access.Need.MANAGE)
def settings(dataset: Dataset) -> ResponseReturnValue:
    return _settings_page(dataset)


@bp.route("/datasets/<int:dataset_id>/collaborators", methods=["POST"])
@access.dataset_route(access.Need.MANAGE)
def add_collaborator(dataset: Dataset) -> ResponseReturnValue:
    form = CollaboratorForm()
    if form.validate_on_submit():
        try:
            member = curation.add_collaborator(
                dataset, current_user, form.email.data or "", Membership(form.role.data)
            )
        except curation.CurationError as error:
            form.email.errors = [str(error)]
        else:
            db.session.commit()
            flash(f"{member.user.display_name} is now a {member.role.value}.", "success")
            return redirect(url_for("curate.settings", dataset_id=dataset.id), code=303)
    return _settings_page(dataset, member_form=form, status=400)


@bp.route("/datasets/<int:dataset_id>/collaborators/<int:user_id>/remove", methods=["POST"])
@access.dataset_route(access.Need.MANAGE)
def remove_collaborator(dataset: Dataset, user_id: int) -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        return _settings_page(dataset, status=400)
    try:
        curation.remove_collaborator(dataset, current_user, user_id)
    except curation.CurationError as error:
        flash(str(error), "error")
        return redirect(url_for("curate.settings", dataset_id=dataset.id), code=303)
    db.session.commit()
    flash("Collaborator removed; their access ends with their next request.", "success")
    return redirect(url_for("curate.settings", dataset_id=dataset.id), code=303)


@bp.route("/datasets/<int:dataset_id>/privacy", methods=["POST"])
@access.dataset_route(access.Need.MANAGE)
def privacy(dataset: Dataset) -> ResponseReturnValue:
    form = PrivacyForm()
    if not form.validate_on_submit():
        return _settings_page(dataset, privacy_form=form, status=400)
    try:
        changed = guard.open_dataset(
            dataset, current_user, Privacy(form.privacy.data), form.justification.data or ""
        )
    except guard.GuardRefused as refused:
        return _settings_page(dataset, privacy_form=form, verdict=refused.verdict, status=409)
    if changed:
        db.session.commit()
        flash(f"The dataset is now {dataset.privacy.value}.", "success")
    return redirect(url_for("curate.settings", dataset_id=dataset.id), code=303)


@bp.route("/admin/justified-openings")
@access.admin_route
def justified_openings() -> ResponseReturnValue:
    """Datasets opened although their risk was above the site's thresholds, with the reasons
    their owners gave."""
    events = guard.justified_openings()
    titles = {
        d.id: d.title
        for d in db.session.scalars(
            select(Dataset).where(Dataset.id.in_({e.dataset_id for e in events}))
        )
    }
    return render_template("curate/justified.html", events=events, titles=titles)


@bp.route("/datasets/<int:dataset_id>/delete", methods=["GET", "POST"])
@access.dataset_route(access.Need.MANAGE)
def delete(dataset: Dataset) -> ResponseReturnValue:
    form = DeleteForm()
    if form.validate_on_submit():
        if (form.confirm.data or "").strip() != dataset.title.strip():
            form.confirm.errors = [
                "That is not the dataset's title: type it exactly to confirm the deletion."
            ]
        else:
            title = dataset.title
            curation.delete_dataset(dataset, current_user)
            db.session.commit()
            flash(f"Dataset “{title}” and all its samples and tables were deleted.", "success")
            return redirect(url_for("browse.datasets_list"), code=303)
    return render_template("curate/delete.html", dataset=dataset, form=form), (
        400 if form.errors else 200
    )


@bp.route("/datasets/<int:dataset_id>/history")
@access.dataset_route(access.Need.SAMPLES)
def history(dataset: Dataset) -> ResponseReturnValue:
    return render_template(
        "curate/history.html", dataset=dataset, events=curation.history(dataset.id)
    )


SAMPLE_PRIVACY = {"": None, "restricted": Privacy.RESTRICTED, "private": Privacy.PRIVATE}


@bp.route("/datasets/<int:dataset_id>/edit-sample/<path:name>", methods=["GET", "POST"])
@access.dataset_route(access.Need.EDIT)
def edit_sample(dataset: Dataset, name: str) -> ResponseReturnValue:
    """Edit one sample's cells (checked as an upload checks them) and its own privacy."""
    sample = db.session.scalar(
        select(Sample).where(Sample.dataset_id == dataset.id, Sample.samp_name == name)
    )
    if sample is None:
        abort(404)
    form = EmptyForm()
    cells = curation.sample_cells(sample)
    problems: dict[str, str] = {}
    if form.validate_on_submit():
        edited = {
            key.removeprefix("cell:"): value
            for key, value in request.form.items()
            if key.startswith("cell:")
        }
        added, value = request.form.get("new_field", ""), request.form.get("new_value", "")
        if added and value.strip():
            edited[added] = value
        privacy = request.form.get("privacy", "")
        try:
            changed = curation.edit_sample(dataset, sample, current_user, edited)
            wanted = SAMPLE_PRIVACY.get(privacy, sample.privacy)
            if curation.set_sample_privacy(sample, current_user, wanted):
                changed.append("privacy")
        except curation.SampleEditError as error:
            problems = error.problems
            cells = {**cells, **edited}
        else:
            db.session.commit()
            flash(f"Saved: {', '.join(changed)}." if changed else "Nothing changed.", "success")
            return redirect(
                url_for("browse.sample", dataset_id=dataset.id, name=sample.samp_name), code=303
            )
    checklist = get_checklist(dataset.checklist)
    known = {spec.name: spec for spec in checklist.fields}
    order = [spec.name for spec in checklist.fields if spec.name in cells]
    order += sorted(set(cells) - set(order))
    status = 400 if problems or form.errors else 200
    return render_template(
        "curate/edit_sample.html",
        dataset=dataset,
        sample=sample,
        rows=[(column, cells[column], known.get(column)) for column in order],
        addable=[spec for spec in checklist.fields if spec.name not in cells],
        problems=problems,
        form=form,
        privacy="" if sample.privacy is None else sample.privacy.value,
    ), status
