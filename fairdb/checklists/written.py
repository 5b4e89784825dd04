"""How a field's typed columns are written back as a cell, as polars expressions.

The bulk validator uses these to decide which cells the typed columns rebuild exactly (those
are not kept again in `attributes`), and big downloads use them to rebuild those cells; one
definition keeps the two in step. `fairdb.services.export.canonical` is the same, row by row.
"""

from __future__ import annotations

import polars as pl

from fairdb.checklists.cells import TERM_DERIVED, TEXT_DERIVED


def number(column: str) -> pl.Expr:
    """A float as Python writes it back: an integer without '.0', else its shortest repr (the
    two agree for numbers in bulk.NUMBER_TEXT's shape, the only ones left to be rebuilt)."""
    value = pl.col(column)
    return (
        pl.when(value == value.round(0))
        .then(value.cast(pl.Int64).cast(pl.String))
        .otherwise(value.cast(pl.String))
    )


def written(name: str) -> pl.Expr | None:
    """The cell of field `name` as its typed columns write it (null: no value); None for a
    field that has no typed columns."""
    if name in TEXT_DERIVED:
        return pl.col(name)
    if name in TERM_DERIVED:
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
            pl.concat_str([number("latitude"), pl.lit(" "), number("longitude")])
        )
    if name in ("host_age", "host_body_mass_index"):
        value = "host_age_value" if name == "host_age" else "host_body_mass_index"
        unit = pl.col(f"{name}_unit")
        return pl.when(pl.col(value).is_not_null()).then(
            pl.concat_str(
                [
                    number(value),
                    pl.when(unit.is_not_null()).then(pl.lit(" ") + unit).otherwise(pl.lit("")),
                ]
            )
        )
    if name == "host_taxid":
        return pl.col("host_taxid").cast(pl.String)
    return None
