"""The JSON shapes of the API's abundance tables: listings, uploads, compositions, diversity."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, post_load, validate

from fairdb.abundance.analysis import COMPOSITION_LEVELS, MAX_ORDINATION_SAMPLES
from fairdb.abundance.diversity import BETA_METRICS
from fairdb.abundance.ingest import ORIENTATIONS

# Comma-separated sample ids (each fits PostgreSQL's bigint).
SAMPLE_IDS = r"^[0-9]{1,18}(,[0-9]{1,18})*$"
ALPHA_METRICS = ("observed", "shannon", "simpson", "chao1")


class Strict(Schema):
    class Meta:
        unknown = RAISE


# -- input ------------------------------------------------------------------------------------


class TableUploadForm(Strict):
    """The text fields of a feature table upload (multipart, beside the files 'file' and
    'taxonomy'), as on the upload page."""

    orientation = fields.String(
        load_default="auto",
        validate=validate.OneOf(ORIENTATIONS),
        metadata={"description": "Where the samples are; 'auto' detects it from their names."},
    )


class Selection(Strict):
    """Which of the table's samples: ids, comma-separated; all you may read when left out."""

    samples = fields.String(
        validate=validate.Regexp(SAMPLE_IDS, error="Write sample ids separated by commas."),
        metadata={
            "description": "Sample ids, comma-separated (e.g. 1,2,3). An id that is not in "
            "the table or that you may not read is a 422 naming it.",
            "example": "1,2,3",
        },
    )

    @post_load
    def as_ids(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if "samples" in data:
            data["samples"] = list(dict.fromkeys(int(i) for i in data["samples"].split(",")))
        return data


class AlphaQuery(Selection):
    pass


class BetaQuery(Selection):
    metric = fields.String(load_default="braycurtis", validate=validate.OneOf(BETA_METRICS))
    pseudocount = fields.Float(
        load_default=1.0,
        validate=validate.Range(min=0, max=1e6, min_inclusive=False),
        metadata={"description": "Added to every value before Aitchison's log-ratios."},
    )


class CompositionQuery(Strict):
    rank = fields.String(load_default="genus", validate=validate.OneOf(COMPOSITION_LEVELS))
    top = fields.Integer(
        load_default=10,
        validate=validate.Range(min=1, max=30),
        metadata={"description": "How many taxa are named; the rest are summed as Other."},
    )


# -- output -----------------------------------------------------------------------------------


class TableLinks(Schema):
    self_ = fields.String(data_key="self")
    entries = fields.String(metadata={"description": "The table as sparse long TSV."})
    alpha = fields.String()
    beta = fields.String()
    page = fields.String(metadata={"description": "The table's page, with its charts."})


class TableOut(Schema):
    """A stored feature table: its file, its size, how it was read."""

    id = fields.Integer()
    dataset_id = fields.Integer()
    filename = fields.String()
    features = fields.Integer()
    samples = fields.Integer()
    entries = fields.Integer(metadata={"description": "Non-zero values stored."})
    value_kind = fields.String(validate=validate.OneOf(["counts", "relative"]))
    orientation = fields.String()
    taxonomy_source = fields.String()
    created = fields.DateTime()
    links = fields.Nested(TableLinks)


class TableList(Schema):
    items = fields.List(fields.Nested(TableOut))


class TableSummary(Schema):
    features = fields.Integer()
    samples = fields.Integer()
    entries = fields.Integer()
    orientation = fields.String()
    value_kind = fields.String()
    taxonomy = fields.String()


class TableUploadOut(Schema):
    """A stored table upload: what was read, and the table as listed."""

    stored = fields.Integer(metadata={"description": "Non-zero entries stored."})
    upload_id = fields.Integer()
    rows_checked = fields.Integer()
    summary = fields.Nested(TableSummary)
    table = fields.Nested(TableOut)


class TaxonShare(Schema):
    taxon = fields.String(metadata={"description": "A name, 'Unassigned' or 'Other'."})
    share = fields.Float(metadata={"description": "Share of the sample's total, 0 to 1."})


class TableComposition(Schema):
    table_id = fields.Integer()
    filename = fields.String()
    taxa = fields.List(fields.Nested(TaxonShare))


class SampleComposition(Schema):
    """One sample's largest taxa at a rank, in each table of its dataset that holds it."""

    sample_id = fields.Integer()
    dataset_id = fields.Integer()
    samp_name = fields.String()
    rank = fields.String()
    top = fields.Integer()
    tables = fields.List(fields.Nested(TableComposition))


class AlphaRow(Schema):
    sample_id = fields.Integer()
    sample = fields.String(metadata={"description": "The sample's name (samp_name)."})
    observed = fields.Integer(metadata={"description": "Features with a non-zero value."})
    shannon = fields.Float(allow_none=True, metadata={"description": "Natural log."})
    simpson = fields.Float(allow_none=True, metadata={"description": "1 - sum of p squared."})
    chao1 = fields.Float(
        allow_none=True, metadata={"description": "Bias-corrected; null unless counts."}
    )


class AlphaOut(Schema):
    table_id = fields.Integer()
    value_kind = fields.String()
    metrics = fields.List(fields.String())
    rows = fields.List(fields.Nested(AlphaRow))


class BetaOut(Schema):
    """A distance matrix: row and column i are the sample sample_ids[i]."""

    table_id = fields.Integer()
    metric = fields.String()
    pseudocount = fields.Float(allow_none=True, metadata={"description": "Aitchison only."})
    sample_ids = fields.List(fields.Integer())
    samples = fields.List(fields.String())
    matrix = fields.List(fields.List(fields.Float()))
    total_samples = fields.Integer(metadata={"description": "Samples selected."})
    truncated = fields.Boolean(
        metadata={
            "description": f"More than {MAX_ORDINATION_SAMPLES:,} samples were selected: the "
            "matrix holds the first ones by id."
        }
    )
    limit = fields.Integer()
