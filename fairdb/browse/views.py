"""Routes of the browse blueprint: dataset list, dataset page, samples download."""

from __future__ import annotations

import re

from flask import Blueprint, Response, render_template, stream_with_context
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import func, select

from fairdb.extensions import db
from fairdb.models import LICENSES, Dataset, Sample
from fairdb.services import access, datasets, export

bp = Blueprint("browse", __name__)
PREVIEW_ROWS = 50


def _visible_dataset(dataset_id: int) -> Dataset:
    dataset = db.get_or_404(Dataset, dataset_id)
    access.require(access.can_see_dataset(current_user, dataset), exists_for_user=False)
    return dataset


@bp.route("/datasets")
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


@bp.route("/datasets/<int:dataset_id>")
def dataset(dataset_id: int) -> ResponseReturnValue:
    found = _visible_dataset(dataset_id)
    see_samples = access.can_see_samples(current_user, found)
    preview: list[Sample] = []
    columns: list[str] = []
    if see_samples:
        preview = list(
            db.session.scalars(
                select(Sample)
                .where(Sample.dataset_id == found.id)
                .order_by(Sample.id)
                .limit(PREVIEW_ROWS)
            )
        )
        columns = export.export_columns(found)[:12]
    return render_template(
        "browse/dataset.html",
        dataset=found,
        count=datasets.sample_count(found.id),
        uploads=datasets.uploads_of(found.id),
        preview=preview,
        columns=columns,
        see_samples=see_samples,
        can_edit=access.can_edit_dataset(current_user, found),
        license_name=LICENSES.get(found.license, found.license),
        cell=export.cell,
    )


@bp.route("/datasets/<int:dataset_id>/samples.csv")
def samples_csv(dataset_id: int) -> ResponseReturnValue:
    found = _visible_dataset(dataset_id)
    access.require(access.can_see_samples(current_user, found))
    slug = re.sub(r"[^A-Za-z0-9]+", "-", found.title).strip("-")[:60] or "dataset"
    return Response(
        stream_with_context(export.samples_csv(found)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="fairdb-{found.id}-{slug}.csv"'},
    )
