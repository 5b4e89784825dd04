"""The marshmallow schema of one sample record, generated from a checklist.

It validates with the same `check_cell` as the bulk path, so a form, the JSON API and a file
upload give the same verdict and the same words ("message fix") for the same cell.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, post_load, validates_schema

from fairdb.checklists.cells import OUTPUTS, check_cell
from fairdb.checklists.model import Checklist, get_checklist


def cell_error(message: str | None, fix: str | None) -> str:
    """The one wording of a cell problem, shared with the upload report."""
    return f"{message} {fix}"


class SampleSchema(Schema):
    """Base of the generated schemas: each field is text checked by the checklist's rules."""

    checklist_name: str = ""

    @validates_schema
    def check_cells(self, data: dict[str, Any], **kwargs: Any) -> None:
        checklist = get_checklist(self.checklist_name)
        problems: dict[str, list[str]] = {}
        for spec in checklist.fields:
            verdict = check_cell(spec, data.get(spec.name))
            if not verdict.ok:
                problems[spec.name] = [cell_error(verdict.message, verdict.fix)]
        if problems:
            raise ValidationError(problems)

    @post_load
    def typed(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The typed values and the raw cells, as the samples table holds them."""
        checklist = get_checklist(self.checklist_name)
        out: dict[str, Any] = {}
        for spec in checklist.fields:
            verdict = check_cell(spec, data.get(spec.name))
            for name in OUTPUTS.get(spec.name, ()):
                out[name] = verdict.derived.get(name)
        out["attributes"] = {k: v for k, v in data.items() if v not in (None, "")}
        return out


@cache
def sample_schema(checklist_name: str, *, strict: bool = False) -> type[SampleSchema]:
    """A schema class for one checklist; strict refuses fields the checklist does not know."""
    checklist: Checklist = get_checklist(checklist_name)
    declared: dict[str, Any] = {
        spec.name: fields.String(
            required=False, allow_none=True, metadata={"description": spec.description}
        )
        for spec in checklist.fields
    }
    meta = type("Meta", (), {"unknown": RAISE if strict else INCLUDE})
    return type(
        f"{checklist.name}SampleSchema",
        (SampleSchema,),
        {**declared, "Meta": meta, "checklist_name": checklist.name},
    )
