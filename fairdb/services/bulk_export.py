"""Sample cells for large downloads, a batch at a time: COPY out of PostgreSQL into polars, the
cells rebuilt by vectorised expressions, CSV written by polars.

It gives exactly what `export.cell` gives row by row (a sample's own `attributes`, else its
upload's `shared_cells`, else the cell rebuilt from typed columns; tests compare the two), at a
few microseconds per row instead of tens.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import polars as pl
from sqlalchemy import Integer, Select, cast, select

from fairdb.extensions import db
from fairdb.models import Sample, Upload
from fairdb.services.copying import copy_out, raw_connection
from fairdb.services.formats import FORMULA_LIKE, NUMBER

TERM_FIELDS = ("env_broad_scale", "env_local_scale", "env_medium", "host_body_site")
TEXT_FIELDS = ("samp_name", "seq_meth", "host_subject_id", "host_sex", "host_disease_stat")
# The typed columns each rebuildable field is written back from (export.canonical).
SOURCES: dict[str, tuple[str, ...]] = {
    **{name: (name,) for name in TEXT_FIELDS},
    **{name: (f"{name}_label", f"{name}_id") for name in TERM_FIELDS},
    "collection_date": ("collection_date", "collection_date_precision"),
    "geo_loc_name": ("geo_country", "geo_region", "geo_place"),
    "lat_lon": ("latitude", "longitude"),
    "host_age": ("host_age_value", "host_age_unit"),
    "host_body_mass_index": ("host_body_mass_index", "host_body_mass_index_unit"),
    "host_taxid": ("host_taxid",),
}
DTYPES = {
    "collection_date": pl.Date,
    "latitude": pl.Float64,
    "longitude": pl.Float64,
    "host_age_value": pl.Float64,
    "host_body_mass_index": pl.Float64,
    "host_taxid": pl.Int64,
}


def _number(column: str) -> pl.Expr:
    """A float as export.number_text writes it: an integer without '.0', else its shortest
    repr (cells are only left to be rebuilt when written in that shape, see bulk.NUMBER_TEXT)."""
    value = pl.col(column)
    return (
        pl.when(value == value.round(0))
        .then(value.cast(pl.Int64).cast(pl.String))
        .otherwise(value.cast(pl.String))
    )


def canonical(name: str) -> pl.Expr:
    """export.canonical as a polars expression over the typed columns (null: no value)."""
    if name in TEXT_FIELDS:
        return pl.col(name)
    if name in TERM_FIELDS:
        label, term = pl.col(f"{name}_label"), pl.col(f"{name}_id")
        return (
            pl.when(term.is_not_null())
            .then(pl.concat_str([label, pl.lit(" ["), term, pl.lit("]")]))
            .otherwise(label)
        )
    if name == "collection_date":
        when, precision = pl.col("collection_date"), pl.col("collection_date_precision")
        return (
            pl.when(precision == "day")
            .then(when.dt.strftime("%Y-%m-%d"))
            .when(precision == "month")
            .then(when.dt.strftime("%Y-%m"))
            .when(precision == "year")
            .then(when.dt.strftime("%Y"))
        )
    if name == "geo_loc_name":
        country, region, place = pl.col("geo_country"), pl.col("geo_region"), pl.col("geo_place")
        tail = pl.when(place.is_not_null()).then(pl.lit(", ") + place).otherwise(pl.lit(""))
        return (
            pl.when(region.is_not_null())
            .then(pl.concat_str([country, pl.lit(": "), region, tail]))
            .when(place.is_null())
            .then(country)
        )
    if name == "lat_lon":
        return pl.when(pl.col("latitude").is_not_null() & pl.col("longitude").is_not_null()).then(
            pl.concat_str([_number("latitude"), pl.lit(" "), _number("longitude")])
        )
    if name in ("host_age", "host_body_mass_index"):
        value = "host_age_value" if name == "host_age" else "host_body_mass_index"
        unit = pl.col(f"{name}_unit")
        return pl.when(pl.col(value).is_not_null()).then(
            pl.concat_str(
                [
                    _number(value),
                    pl.when(unit.is_not_null()).then(pl.lit(" ") + unit).otherwise(pl.lit("")),
                ]
            )
        )
    if name == "host_taxid":
        return pl.col("host_taxid").cast(pl.String)
    return pl.lit(None, pl.String)


def escaped(column: pl.Expr) -> pl.Expr:
    """formats.escape_cell as an expression: formula-like text gets a leading apostrophe."""
    risky = column.str.contains(FORMULA_LIKE.pattern) & ~column.str.contains(NUMBER.pattern)
    return pl.when(risky).then(pl.lit("'") + column).otherwise(column)


def _sql(statement: Select[Any]) -> str:
    """A statement as SQL text with its parameters bound by psycopg2 (safe quoting)."""
    compiled = statement.compile(
        dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    cursor = raw_connection().cursor()
    try:
        sql: bytes = cursor.mogrify(compiled.string, compiled.params)
        return sql.decode()
    finally:
        cursor.close()


def select_cells(statement: Select[Any], columns: list[str]) -> Select[Any]:
    """Add to a select over Sample what the cells of `columns` are built from."""
    typed = sorted({source for name in columns for source in SOURCES.get(name, ())})
    extra: list[Any] = [Sample.upload_id.label("upload_id")]
    extra += [getattr(Sample, name).label(name) for name in typed]
    for number, name in enumerate(columns):
        extra.append(cast(Sample.attributes.has_key(name), Integer).label(f"has {number}"))
        extra.append(Sample.attributes[name].astext.label(f"own {number}"))
    return statement.add_columns(*extra)


def frame(statement: Select[Any], leading: dict[str, Any], columns: list[str]) -> pl.DataFrame:
    """Run `select_cells(statement)` by COPY and return the leading columns (as selected
    first, with their polars types) and one text column per requested cell."""
    typed = sorted({source for name in columns for source in SOURCES.get(name, ())})
    schema: dict[str, Any] = {**leading, "upload_id": pl.Int64}
    schema.update({name: DTYPES.get(name, pl.String) for name in typed})
    for number in range(len(columns)):
        schema[f"has {number}"] = pl.Int8
        schema[f"own {number}"] = pl.String
    raw = copy_out(_sql(select_cells(statement, columns)), schema)
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


def csv_pieces(
    frames: Iterator[pl.DataFrame], header: list[str], separator: str
) -> Iterator[bytes]:
    """CSV (or TSV) bytes: the header, then each frame with formula-like text escaped."""

    line = io.StringIO()
    csv.writer(line, delimiter=separator, lineterminator="\n").writerow(header)
    yield line.getvalue().encode()
    for batch in frames:
        text = batch.with_columns(
            [
                escaped(pl.col(name)).alias(name)
                for name, dtype in batch.schema.items()
                if dtype == pl.String
            ]
        )
        yield text.write_csv(
            include_header=False, separator=separator, line_terminator="\n"
        ).encode()


def batches(
    statement: Any, leading: dict[str, Any], columns: list[str], size: int = 10_000
) -> Iterator[pl.DataFrame]:
    """`frame` a keyset batch at a time in id order: `statement` selects Sample.id first (as
    "id") and is not yet ordered or limited; the id column is dropped from the output."""
    last = 0
    while True:
        batch = frame(
            statement.where(Sample.id > last).order_by(Sample.id).limit(size), leading, columns
        )
        if batch.is_empty():
            return
        last = int(batch["id"][-1])
        yield batch.drop("id")
        if batch.height < size:
            return
