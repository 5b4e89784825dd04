"""A dataset's samples in the shape they were uploaded (lossless), and its abundance tables as
sparse long-format TSV, for downloads in any of `formats.FORMATS`.

In CSV, TSV and XLSX, formula-like text cells (=, +, -, @, tab, CR; not numbers) get a leading
apostrophe (formats.escape_cell); the upload reader removes exactly that apostrophe again, so a
download uploads back unchanged.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import ColumnElement, func, select, text

from fairdb.checklists.model import get_checklist
from fairdb.extensions import db
from fairdb.models import Abundance, AbundanceTable, Dataset, Feature, Sample
from fairdb.services import formats


def export_columns(dataset: Dataset) -> list[str]:
    """Every attribute key used in the dataset: checklist order first, then the extra columns."""
    keys = db.session.execute(
        text(
            "SELECT key, min(first) AS first FROM ("
            " SELECT key, min(id) AS first FROM samples, jsonb_object_keys(attributes) AS key"
            " WHERE dataset_id = :id GROUP BY key"
            " UNION ALL"
            " SELECT key, (SELECT min(id) FROM samples WHERE upload_id = uploads.id) AS first"
            " FROM uploads, jsonb_object_keys(shared_cells) AS key WHERE dataset_id = :id"
            ") AS keys GROUP BY key ORDER BY first, key"
        ),
        {"id": dataset.id},
    ).all()
    used = [key for key, _ in keys]
    filled = db.session.execute(
        select(
            *[func.bool_or(getattr(Sample, c).is_not(None)) for c in TYPED_SOURCES.values()]
        ).where(Sample.dataset_id == dataset.id)
    ).one()
    used += [
        name for name, full in zip(TYPED_SOURCES, filled, strict=True) if full and name not in used
    ]
    order = [spec.name for spec in get_checklist(dataset.checklist).fields]
    known = [name for name in order if name in used]
    return ["samp_name", *[k for k in known if k != "samp_name"]] + [
        key for key in used if key not in order
    ]


def entries_tsv(table: AbundanceTable, readable: ColumnElement[bool]) -> Iterator[bytes]:
    """An abundance table as sparse long-format TSV: one line per non-zero entry (feature id,
    lineage, sample name, value), streamed in feature order; only the samples `readable`
    selects (the access policy's clause)."""
    features = dict(
        db.session.execute(
            select(Feature.id, Feature.feature_id).where(Feature.table_id == table.id)
        ).all()
    )
    lineages = dict(
        db.session.execute(
            select(Feature.id, Feature.lineage).where(Feature.table_id == table.id)
        ).all()
    )
    names = dict(
        db.session.execute(
            select(Sample.id, Sample.samp_name).where(
                Sample.dataset_id == table.dataset_id, readable
            )
        ).all()
    )
    entries = db.session.execute(
        select(Abundance.feature_id, Abundance.sample_id, Abundance.value)
        .where(Abundance.feature_id.between(table.first_feature_id, table.last_feature_id))
        .order_by(Abundance.feature_id, Abundance.sample_id)
        .execution_options(yield_per=20_000)
    )

    def rows() -> Iterator[list[Any]]:
        for feature, sample, value in entries:
            if sample in names:
                yield [features[feature], lineages.get(feature), names[sample], value]

    return formats.stream_rows(["feature_id", "lineage", "sample", "value"], rows(), "tsv")


# Fields whose typed columns can rebuild the cell, and one typed column that shows it is filled.
TYPED_SOURCES = {
    "samp_name": "samp_name",
    "seq_meth": "seq_meth",
    "host_subject_id": "host_subject_id",
    "host_sex": "host_sex",
    "host_disease_stat": "host_disease_stat",
    "env_broad_scale": "env_broad_scale_label",
    "env_local_scale": "env_local_scale_label",
    "env_medium": "env_medium_label",
    "host_body_site": "host_body_site_label",
    "collection_date": "collection_date",
    "geo_loc_name": "geo_country",
    "lat_lon": "latitude",
    "host_age": "host_age_value",
    "host_body_mass_index": "host_body_mass_index",
    "host_taxid": "host_taxid",
}


def cell(sample: Any, name: str, shared: dict[str, str] | None = None) -> str:
    """A sample's cell as it was uploaded: its own raw text if kept (null: none), else the
    value its upload's samples share, else rebuilt from typed values. `sample` is a Sample or
    a result row with the same columns. (Pages and downloads build cells in SQL: cells_sql.)"""
    own = sample.attributes
    if name in own:
        value = own[name]
        return "" if value is None else str(value)
    if shared and name in shared:
        return str(shared[name])
    rebuild = REBUILD.get(name)
    return (rebuild(sample) or "") if rebuild is not None else ""


def number_text(value: float) -> str:
    """A float as written in a file of the NUMBER_TEXT shape (checklists.bulk)."""
    return str(int(value)) if value.is_integer() else repr(value)


def canonical(sample: Any, name: str) -> str | None:
    """The cell a typed field is written back as when `attributes` holds no raw text for it
    (mirrors checklists.written, which the bulk validator and big downloads use); None for a
    field without typed columns (its cell is kept as written or shared)."""
    rebuild = REBUILD.get(name)
    return rebuild(sample) if rebuild is not None else None


def _term(name: str) -> Callable[[Any], str | None]:
    label_column, term_column = f"{name}_label", f"{name}_id"

    def rebuild(sample: Any) -> str | None:
        label, term = getattr(sample, label_column), getattr(sample, term_column)
        return f"{label} [{term}]" if term is not None else label

    return rebuild


def _measure(value_column: str, unit_column: str) -> Callable[[Any], str | None]:
    def rebuild(sample: Any) -> str | None:
        number, unit = getattr(sample, value_column), getattr(sample, unit_column)
        if number is None:
            return None
        return number_text(number) + (f" {unit}" if unit is not None else "")

    return rebuild


# Characters of the ISO date kept at each precision (slicing is several times faster than
# strftime, which pages call for every row).
_DATE_LENGTHS = {"day": 10, "month": 7, "year": 4}


def _date(sample: Any) -> str | None:
    length = _DATE_LENGTHS.get(sample.collection_date_precision or "")
    if sample.collection_date is None or length is None:
        return None
    return sample.collection_date.isoformat()[:length]  # type: ignore[no-any-return]


def _place(sample: Any) -> str | None:
    if sample.geo_country is None:
        return None
    if sample.geo_region is not None:
        tail = f", {sample.geo_place}" if sample.geo_place is not None else ""
        return f"{sample.geo_country}: {sample.geo_region}{tail}"
    return sample.geo_country if sample.geo_place is None else None


def _coordinates(sample: Any) -> str | None:
    if sample.latitude is None or sample.longitude is None:
        return None
    return f"{number_text(sample.latitude)} {number_text(sample.longitude)}"


def _taxid(sample: Any) -> str | None:
    return None if sample.host_taxid is None else str(sample.host_taxid)


# How each field with typed columns is rebuilt: looked up once per cell, one small function each.
REBUILD: dict[str, Callable[[Any], str | None]] = {
    **{
        name: operator.attrgetter(name)
        for name in ("samp_name", "seq_meth", "host_subject_id", "host_sex", "host_disease_stat")
    },
    **{
        name: _term(name)
        for name in ("env_broad_scale", "env_local_scale", "env_medium", "host_body_site")
    },
    "collection_date": _date,
    "geo_loc_name": _place,
    "lat_lon": _coordinates,
    "host_age": _measure("host_age_value", "host_age_unit"),
    "host_body_mass_index": _measure("host_body_mass_index", "host_body_mass_index_unit"),
    "host_taxid": _taxid,
}
