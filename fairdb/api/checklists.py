"""API routes for checklists: which exist, and every field's rules, so clients can check
records before they upload them."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields

from fairdb.api.core import ApiError, bp, documented
from fairdb.checklists.model import Field, checklist_names, get_checklist
from fairdb.services import access

TAG = "Checklists"


class ChecklistField(Schema):
    name = fields.String()
    title = fields.String()
    description = fields.String()
    example = fields.String(allow_none=True)
    required = fields.Boolean()
    recommended = fields.Boolean()
    multivalued = fields.Boolean()
    kind = fields.String()
    allowed_values = fields.List(fields.String())
    unit = fields.String(allow_none=True)
    syntax = fields.String(allow_none=True)
    pattern = fields.String(allow_none=True)


class ChecklistSummary(Schema):
    name = fields.String()
    title = fields.String()
    mixs_version = fields.String()
    field_count = fields.Integer()
    url = fields.String()


class ChecklistList(Schema):
    items = fields.List(fields.Nested(ChecklistSummary))


class ChecklistOut(ChecklistSummary):
    # "fields" in JSON; a Schema's own `fields` attribute takes the Python name.
    field_list = fields.List(fields.Nested(ChecklistField), data_key="fields")


def _summary(name: str) -> dict[str, Any]:
    checklist = get_checklist(name)
    return {
        "name": checklist.name,
        "title": checklist.title,
        "mixs_version": checklist.mixs_version,
        "field_count": len(checklist.fields),
        "url": url_for("api.get_checklist_fields", name=checklist.name, _external=True),
    }


def _field(spec: Field) -> dict[str, Any]:
    return {
        "name": spec.name,
        "title": spec.title,
        "description": spec.description,
        "example": spec.example,
        "required": spec.required,
        "recommended": spec.recommended,
        "multivalued": spec.multivalued,
        "kind": spec.kind,
        "allowed_values": list(spec.enum),
        "unit": spec.unit,
        "syntax": spec.syntax,
        "pattern": spec.regex,
    }


@bp.get("/checklists")
@access.open_route
@documented(
    summary="The checklists samples are checked against",
    tag=TAG,
    responses={200: ChecklistList},
)
def list_checklists() -> ResponseReturnValue:
    return jsonify(items=[_summary(name) for name in checklist_names()])


@bp.get("/checklists/<name>")
@access.open_route
@documented(
    summary="Every field of a checklist: description, example, allowed values, pattern",
    tag=TAG,
    responses={200: ChecklistOut},
    errors=(404,),
)
def get_checklist_fields(name: str) -> ResponseReturnValue:
    if name not in checklist_names():
        raise ApiError(404, "Not Found", f"No checklist {name!r}: see /api/v1/checklists.")
    checklist = get_checklist(name)
    return jsonify(**_summary(name), fields=[_field(spec) for spec in checklist.fields])
