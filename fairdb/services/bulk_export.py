"""Sample cells as polars frames, for the privacy toolkit's analyses: COPY out of PostgreSQL
into polars, the cells rebuilt by vectorised expressions.

It gives exactly what `export.cell` gives row by row (a sample's own `attributes`, else its
upload's `shared_cells`, else the cell rebuilt from typed columns; tests compare the two), at a
few microseconds per row instead of tens.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Integer, Select, cast, select

from fairdb.checklists.cells import OUTPUTS
from fairdb.checklists.written import written
from fairdb.extensions import db
from fairdb.models import Sample, Upload
from fairdb.services.copying import compiled, copy_out


def _typed_sources(columns: list[str]) -> list[str]:
    """The typed columns the cells of `columns` are written back from (cells.OUTPUTS)."""
    return sorted({source for name in columns for source in OUTPUTS.get(name, ())})


DTYPES = {
    "collection_date": pl.Date,
    "latitude": pl.Float64,
    "longitude": pl.Float64,
    "host_age_value": pl.Float64,
    "host_body_mass_index": pl.Float64,
    "host_taxid": pl.Int64,
}


def canonical(name: str) -> pl.Expr:
    """export.canonical as a polars expression over the typed columns (null: no value)."""
    found = written(name)
    return found if found is not None else pl.lit(None, pl.String)


def select_cells(statement: Select[Any], columns: list[str]) -> Select[Any]:
    """Add to a select over Sample what the cells of `columns` are built from."""
    typed = _typed_sources(columns)
    extra: list[Any] = [Sample.upload_id.label("upload_id")]
    extra += [getattr(Sample, name).label(name) for name in typed]
    for number, name in enumerate(columns):
        extra.append(cast(Sample.attributes.has_key(name), Integer).label(f"has {number}"))
        extra.append(Sample.attributes[name].astext.label(f"own {number}"))
    return statement.add_columns(*extra)


def frame(statement: Select[Any], leading: dict[str, Any], columns: list[str]) -> pl.DataFrame:
    """Run `select_cells(statement)` by COPY and return the leading columns (as selected
    first, with their polars types) and one text column per requested cell."""
    typed = _typed_sources(columns)
    schema: dict[str, Any] = {**leading, "upload_id": pl.Int64}
    schema.update({name: DTYPES.get(name, pl.String) for name in typed})
    for number in range(len(columns)):
        schema[f"has {number}"] = pl.Int8
        schema[f"own {number}"] = pl.String
    sql, parameters = compiled(select_cells(statement, columns))
    raw = copy_out(sql, schema, parameters)
    shared = _shared(raw["upload_id"].drop_nulls().unique().to_list(), columns)
    if shared is not None:
        raw = raw.join(shared, on="upload_id", how="left")
    cells = []
    for number, name in enumerate(columns):
        own = pl.col(f"own {number}").fill_null("")
        common = pl.col(f"shared {number}") if shared is not None else pl.lit(None, pl.String)
        cells.append(
            pl.when(pl.col(f"has {number}") == 1)
            .then(own)
            .otherwise(pl.coalesce(common, canonical(name), pl.lit("")))
            .alias(name)
        )
    return raw.select(*[pl.col(name) for name in leading], *cells)


def _shared(upload_ids: list[int], columns: list[str]) -> pl.DataFrame | None:
    if not upload_ids:
        return None
    found = db.session.execute(
        select(Upload.id, Upload.shared_cells).where(Upload.id.in_(upload_ids))
    ).all()
    if not any(cells for _, cells in found):
        return None
    return pl.DataFrame(
        {
            "upload_id": [upload_id for upload_id, _ in found],
            **{
                f"shared {number}": [(cells or {}).get(name) for _, cells in found]
                for number, name in enumerate(columns)
            },
        },
        schema={
            "upload_id": pl.Int64,
            **{f"shared {number}": pl.String for number in range(len(columns))},
        },
    )
