"""API routes for datasets: list and search, create, read, change, delete, collaborators."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import ValidationError

from fairdb.api.core import (
    ApiError,
    bp,
    created,
    documented,
    field_errors,
    idempotent,
    json_body,
    this_url_with,
    with_next_link,
)
from fairdb.extensions import db
from fairdb.models import Dataset, Membership, Privacy
from fairdb.schemas import api as schemas
from fairdb.services import access, curation, datasets
from fairdb.services.privacy import guard

TAG = "Datasets"


def dataset_json(dataset: Dataset, sample_count: int | None = None) -> dict[str, Any]:
    count = datasets.sample_count(dataset.id) if sample_count is None else sample_count
    return {
        "id": dataset.id,
        "title": dataset.title,
        "description": dataset.description,
        "creators": dataset.creators,
        "keywords": dataset.keywords,
        "license": dataset.license,
        "privacy_level": dataset.privacy.value,
        "checklist": dataset.checklist,
        "owner": {"id": dataset.owner_id, "display_name": dataset.owner.display_name},
        "sample_count": count,
        "derived_from": dataset.derived_from_id,
        "created_at": dataset.created_at.isoformat(),
        "updated_at": dataset.updated_at.isoformat(),
        "url": url_for("browse.dataset", dataset_id=dataset.id, _external=True),
    }


def query_args(schema: Any) -> dict[str, Any]:
    """Query parameters loaded by a schema (400 naming the parameter when one is wrong)."""
    try:
        loaded: dict[str, Any] = schema.load(request.args.to_dict())
        return loaded
    except ValidationError as error:
        raise ApiError(
            400,
            "Bad Request",
            "A query parameter is not valid; each entry of 'errors' names one.",
            errors=field_errors(error.messages),
        ) from None


@bp.get("/datasets")
@access.open_route
@documented(
    summary="Datasets you may know of, with words and filters as on the datasets page",
    tag=TAG,
    query=schemas.DatasetQuery,
    responses={200: schemas.DatasetList},
    errors=(400,),
)
def list_datasets() -> ResponseReturnValue:
    args = query_args(schemas.DatasetQuery())
    chosen = {
        "license": args.get("license", ""),
        "checklist": args.get("checklist", ""),
        "keyword": args.get("keyword", ""),
        "privacy": args.get("privacy_level", ""),
    }
    page, per_page = args["page"], args["per_page"]
    total, rows = datasets.find_datasets(current_user, args.get("q", ""), chosen, page, per_page)
    body = {
        "total": total,
        "page": page,
        "items": [dataset_json(dataset, count) for dataset, count in rows],
    }
    more = page * per_page < total
    return with_next_link(body, this_url_with(page=str(page + 1)) if more else None)


@bp.post("/datasets")
@access.signed_in_route
@idempotent
@documented(
    summary="Create a dataset (then upload its samples)",
    tag=TAG,
    body=schemas.DatasetIn,
    responses={201: schemas.DatasetOut},
    errors=(400, 403, 422),
)
def create_dataset() -> ResponseReturnValue:
    values = json_body(schemas.DatasetIn())
    dataset = datasets.create_dataset(
        current_user,
        title=values["title"],
        description=values["description"],
        creators=values["creators"] or None,
        keywords=values.get("keywords") or [],
        license=values["license"],
        privacy=Privacy(values["privacy_level"]),
        checklist=values["checklist"],
    )
    db.session.commit()
    location = url_for("api.get_dataset", dataset_id=dataset.id, _external=True)
    return created(dataset_json(dataset, 0), location)


@bp.get("/datasets/<int:dataset_id>")
@access.dataset_route(access.Need.CATALOGUE)
@documented(
    summary="One dataset's description",
    tag=TAG,
    responses={200: schemas.DatasetOut},
    errors=(404,),
)
def get_dataset(dataset: Dataset) -> ResponseReturnValue:
    return jsonify(dataset_json(dataset))


@bp.patch("/datasets/<int:dataset_id>")
@access.dataset_route(access.Need.EDIT)
@documented(
    summary="Change a dataset's description or privacy level (privacy: owner and admins only)",
    tag=TAG,
    body=schemas.DatasetPatch,
    responses={200: schemas.DatasetOut},
    errors=(400, 403, 404, 422),
)
def patch_dataset(dataset: Dataset) -> ResponseReturnValue:
    values = json_body(schemas.DatasetPatch())
    privacy = values.pop("privacy_level", None)
    justification = values.pop("justification", "")
    if privacy is not None and Privacy(privacy) is not dataset.privacy:
        access.require(access.can_manage_dataset(current_user, dataset))
        try:
            guard.open_dataset(dataset, current_user, Privacy(privacy), justification)
        except guard.GuardRefused as refused:
            raise ApiError(
                422,
                "Unprocessable Content",
                "The dataset's re-identification risk is above this site's thresholds: "
                "generalise it (see the risk report page) or send a 'justification'.",
                errors=[
                    {"column": "privacy_level", "message": reason}
                    for reason in refused.verdict.reasons
                ],
            ) from None
    curation.update_dataset(dataset, current_user, **values)
    db.session.commit()
    return jsonify(dataset_json(dataset))


@bp.delete("/datasets/<int:dataset_id>")
@access.dataset_route(access.Need.MANAGE)
@documented(
    summary="Delete a dataset with its samples and tables (recorded in its history)",
    tag=TAG,
    responses={204: None},
    errors=(403, 404),
)
def delete_dataset(dataset: Dataset) -> ResponseReturnValue:
    curation.delete_dataset(dataset, current_user)
    db.session.commit()
    return Response(status=204)


def collaborator_json(collaborator: Any) -> dict[str, Any]:
    return {
        "user_id": collaborator.user_id,
        "display_name": collaborator.user.display_name,
        "email": collaborator.user.email,
        "role": collaborator.role.value,
    }


@bp.get("/datasets/<int:dataset_id>/collaborators")
@access.dataset_route(access.Need.MANAGE)
@documented(
    summary="Who else may read or edit the dataset",
    tag=TAG,
    responses={200: schemas.CollaboratorList},
    errors=(403, 404),
)
def list_collaborators(dataset: Dataset) -> ResponseReturnValue:
    return jsonify(items=[collaborator_json(c) for c in curation.collaborators(dataset)])


@bp.post("/datasets/<int:dataset_id>/collaborators")
@access.dataset_route(access.Need.MANAGE)
@idempotent
@documented(
    summary="Add a collaborator by email, as viewer or editor",
    tag=TAG,
    body=schemas.CollaboratorIn,
    responses={201: schemas.CollaboratorOut},
    errors=(400, 403, 404, 422),
)
def add_collaborator(dataset: Dataset) -> ResponseReturnValue:
    values = json_body(schemas.CollaboratorIn())
    try:
        added = curation.add_collaborator(
            dataset, current_user, values["email"], Membership(values["role"])
        )
    except curation.CurationError as error:
        raise ApiError(
            422,
            "Unprocessable Content",
            str(error),
            errors=[{"column": "email", "message": str(error)}],
        ) from None
    db.session.commit()
    return created(collaborator_json(added))


@bp.delete("/datasets/<int:dataset_id>/collaborators/<int:user_id>")
@access.dataset_route(access.Need.MANAGE)
@documented(
    summary="Remove a collaborator (effective from their next request; idempotent)",
    tag=TAG,
    responses={204: None},
    errors=(403, 404),
)
def remove_collaborator(dataset: Dataset, user_id: int) -> ResponseReturnValue:
    if not any(c.user_id == user_id for c in curation.collaborators(dataset)):
        return Response(status=204)  # not (or no longer) a collaborator: as asked
    curation.remove_collaborator(dataset, current_user, user_id)
    db.session.commit()
    return Response(status=204)
