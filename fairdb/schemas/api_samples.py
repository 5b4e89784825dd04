"""The JSON shapes of the API's samples: search parameters and pages, one sample, changes."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from fairdb.services.search import MAX_PAGE_SIZE, SORTS


class SampleSearchQuery(Schema):
    """The search page's URL parameters (documentation: the page's own parser reads them)."""

    q = fields.String(metadata={"description": "Words: places, body sites, diseases, names."})
    dataset = fields.List(fields.Integer(), metadata={"description": "Dataset ids."})
    country = fields.List(fields.String())
    body_site = fields.List(fields.String())
    sex = fields.List(fields.String())
    disease = fields.List(fields.String())
    seq_meth = fields.List(fields.String())
    date_from = fields.Date()
    date_to = fields.Date()
    age_min = fields.Float(validate=validate.Range(min=0, max=150))
    age_max = fields.Float(validate=validate.Range(min=0, max=150))
    taxon = fields.String(metadata={"description": "A taxon name at any rank."})
    taxon_min = fields.Float(
        validate=validate.Range(min=0, max=100),
        metadata={"description": "Least share of the sample's total, in percent."},
    )
    sort = fields.String(validate=validate.OneOf(list(SORTS)))
    cols = fields.List(fields.String(), metadata={"description": "Checklist fields to show."})
    limit = fields.Integer(validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    cursor = fields.String(metadata={"description": "From the previous page's `next`."})
    facets = fields.Boolean(metadata={"description": "Add counts per facet value and a total."})


class SampleRow(Schema):
    id = fields.Integer()
    dataset_id = fields.Integer()
    dataset_title = fields.String()
    samp_name = fields.String()
    cells = fields.Dict(keys=fields.String(), values=fields.String())
    url = fields.String()


class FacetValue(Schema):
    value = fields.String()
    label = fields.String()
    count = fields.Integer()


class SamplePage(Schema):
    items = fields.List(fields.Nested(SampleRow))
    columns = fields.List(fields.String())
    total = fields.Integer()
    facets = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(FacetValue)))
    next = fields.String(allow_none=True)


class SampleOut(Schema):
    id = fields.Integer()
    dataset_id = fields.Integer()
    samp_name = fields.String()
    privacy_level = fields.String(allow_none=True)
    cells = fields.Dict(keys=fields.String(), values=fields.String())
    url = fields.String()


class SamplePatch(Schema):
    class Meta:
        unknown = RAISE

    cells = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=200)),
        values=fields.String(validate=validate.Length(max=10_000)),
        required=True,
        metadata={"description": "Field name -> new cell text ('' removes the cell)."},
    )


class SampleRecord(Schema):
    """One sample as field name -> cell text, checked against the dataset's checklist."""

    class Meta:
        unknown = "include"
