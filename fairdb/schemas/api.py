"""The JSON shapes of the API: datasets, collaborators, problems and uploads (samples are in
api_samples.py, abundance tables in api_abundance.py). Input schemas refuse unknown fields."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from fairdb.checklists.model import checklist_names
from fairdb.models import LICENSES, Privacy
from fairdb.services.datasets import ORCID, orcid_checksum_ok

PRIVACY_LEVELS = [level.value for level in Privacy]


class Strict(Schema):
    class Meta:
        unknown = RAISE


class ProblemDetail(Schema):
    """One problem of an error answer: where (row and column, when a file or record is at
    fault), the value, and what is wrong with how to fix it."""

    row = fields.Integer(allow_none=True)
    column = fields.String(allow_none=True)
    value = fields.String(allow_none=True)
    code = fields.String()
    message = fields.String()
    fix = fields.String()


class Problem(Schema):
    """RFC 9457 problem details."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.List(fields.Nested(ProblemDetail))
    error_count = fields.Integer()


class Creator(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    orcid = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Regexp(ORCID),
        metadata={"description": "16 digits in four groups; the last is a check digit."},
    )
    affiliation = fields.String(
        allow_none=True, load_default=None, validate=validate.Length(max=300)
    )

    @validates("orcid")
    def orcid_is_valid(self, value: str | None, **kwargs: Any) -> None:
        if value is None:
            return
        found = ORCID.match(value)
        if found is None or not orcid_checksum_ok(found.group(1)):
            raise ValidationError(
                f"'{value}' is not a valid ORCID iD; write it like 0000-0002-1825-0097."
            )


def _keywords() -> fields.List[Any]:
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        validate=validate.Length(max=50),
    )


class DatasetIn(Strict):
    """A new dataset's description."""

    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    description = fields.String(load_default="", validate=validate.Length(max=20_000))
    creators = fields.List(fields.Nested(Creator), load_default=list)
    keywords = _keywords()
    license = fields.String(load_default="CC-BY-4.0", validate=validate.OneOf(list(LICENSES)))
    privacy_level = fields.String(load_default="private", validate=validate.OneOf(PRIVACY_LEVELS))
    checklist = fields.String(required=True, validate=validate.OneOf(checklist_names()))


class DatasetPatch(Strict):
    """Fields to change; those left out stay as they are (the checklist cannot change)."""

    title = fields.String(validate=validate.Length(min=1, max=300))
    description = fields.String(validate=validate.Length(max=20_000))
    creators = fields.List(fields.Nested(Creator))
    keywords = _keywords()
    license = fields.String(validate=validate.OneOf(list(LICENSES)))
    privacy_level = fields.String(validate=validate.OneOf(PRIVACY_LEVELS))
    justification = fields.String(
        validate=validate.Length(max=2000),
        metadata={"description": "Why a dataset below the site's risk thresholds is published."},
    )


class Owner(Schema):
    id = fields.Integer()
    display_name = fields.String()


class DatasetOut(Schema):
    id = fields.Integer()
    title = fields.String()
    description = fields.String()
    creators = fields.List(fields.Dict())
    keywords = fields.List(fields.String())
    license = fields.String()
    privacy_level = fields.String()
    checklist = fields.String()
    owner = fields.Nested(Owner)
    sample_count = fields.Integer()
    derived_from = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    url = fields.String(metadata={"description": "The landing page: the dataset's identifier."})


class DatasetQuery(Strict):
    q = fields.String(validate=validate.Length(max=200))
    license = fields.String()
    checklist = fields.String()
    keyword = fields.String()
    privacy_level = fields.String(validate=validate.OneOf(PRIVACY_LEVELS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class DatasetList(Schema):
    total = fields.Integer()
    page = fields.Integer()
    items = fields.List(fields.Nested(DatasetOut))
    next = fields.String(allow_none=True)


class CollaboratorIn(Strict):
    email = fields.Email(required=True)
    role = fields.String(required=True, validate=validate.OneOf(["viewer", "editor"]))


class CollaboratorOut(Schema):
    user_id = fields.Integer()
    display_name = fields.String()
    email = fields.String()
    role = fields.String()


class CollaboratorList(Schema):
    items = fields.List(fields.Nested(CollaboratorOut))


class UploadOut(Schema):
    """A stored upload: how many records, and what else the file held."""

    stored = fields.Integer()
    upload_id = fields.Integer(allow_none=True)
    rows_checked = fields.Integer()
    unrecognised = fields.List(fields.String())
    summary = fields.Dict()
