"""The built-in generalisation hierarchies of sample quasi-identifiers, and the registry of them.

The Hierarchy type, the generic factories and the loss measures live in `hierarchies_core`, place
data in `hierarchies_geo`; this module re-exports what pages and the lattice search need.
"""

from __future__ import annotations

import polars as pl

from fairdb.services.privacy import hierarchies_geo as geo
from fairdb.services.privacy.hierarchies_core import (
    MISSING,
    SUPPRESSED,
    Hierarchy,
    banded,
    categorical_hierarchy,
    fixed_point,
    loss_on_data,
    numeric_hierarchy,
    scaled,
    user_mapping,
)

__all__ = [
    "HIERARCHIES",
    "MISSING",
    "SUGGESTED_QUASI",
    "SUGGESTED_SENSITIVE",
    "SUPPRESSED",
    "Hierarchy",
    "age_hierarchy",
    "age_in_years",
    "banded",
    "bmi_hierarchy",
    "categorical_hierarchy",
    "date_hierarchy",
    "geo_hierarchy",
    "lat_lon_hierarchy",
    "loss_on_data",
    "numeric_hierarchy",
    "user_mapping",
]

# Units as fairdb.models.sample.age_in_years reads them (exact, case-sensitive), so that the age
# filter and the risk report agree; an age in any other unit, or in none, is missing in both.
AGE_UNITS_PER_YEAR: dict[str, float] = {
    **dict.fromkeys(("year", "years", "y", "yr", "a"), 1.0),
    **dict.fromkeys(("month", "months", "mo"), 12.0),
    **dict.fromkeys(("week", "weeks", "wk"), 365.25 / 7),
    **dict.fromkeys(("day", "days", "d"), 365.25),
}

# The WHO adult BMI classes: bounds in tenths, since BMI is kept to one decimal and integer bounds
# leave no float to fall on the wrong side of 25.0.
BMI_BOUNDS = [185, 250, 300, 350, 400]
BMI_CLASSES = ["underweight", "normal", "overweight", "obese I", "obese II", "obese III"]


def age_in_years() -> pl.Expr:
    """Host age in years from host_age_value and host_age_unit (null for an unknown unit)."""
    per_year = pl.col("host_age_unit").replace_strict(
        AGE_UNITS_PER_YEAR, default=None, return_dtype=pl.Float64
    )
    return pl.col("host_age_value") / per_year


def age_hierarchy(top: int | None = 90, bottom: int | None = None) -> Hierarchy:
    """Host age: years as recorded -> 5-, 10-, 20-year bands -> "*"; ages >= `top` are "top+"
    at every banded level (HIPAA Safe Harbor pools ages over 89) and, if set, ages < `bottom`
    are "<bottom"."""
    return banded(
        "host_age",
        age_in_years,
        label="Host age",
        source_columns=("host_age_value", "host_age_unit"),
        top=top,
        bottom=bottom,
        unit="year",
    )


def _date_value() -> pl.Expr:
    when, precision = pl.col("collection_date"), pl.col("collection_date_precision")
    # Precision as fairdb.checklists.cells writes it: "time" and "day" are both kept as a day
    # (the column is a date); no precision on a date means it came in whole.
    return (
        pl.when(precision == "year")
        .then(when.dt.strftime("%Y"))
        .when(precision == "month")
        .then(when.dt.strftime("%Y-%m"))
        .otherwise(when.dt.strftime("%Y-%m-%d"))
    )


def _date_step(text: pl.Expr, level: int) -> pl.Expr:
    # "YYYY-MM-DD", "YYYY-MM" and "YYYY" share their prefixes, so slicing keeps a date recorded to
    # the year as "2019" at the month level instead of inventing a month for it.
    if level == 1:
        return text.str.slice(0, 7)
    if level == 2:
        return text.str.slice(0, 4)
    return text.str.slice(0, 3) + "0s"


def date_hierarchy() -> Hierarchy:
    """Collection date: as recorded (day, month or year) -> month -> year -> decade -> "*"."""
    return Hierarchy(
        name="collection_date",
        label="Collection date",
        source_columns=("collection_date", "collection_date_precision"),
        levels=("as recorded (day, month or year)", "month", "year", "decade", "suppressed"),
        value=_date_value,
        step=_date_step,
    )


def geo_hierarchy() -> Hierarchy:
    """geo_loc_name: "Country: region, place" -> "Country: region" -> "Country" -> UN M49
    region (continent) -> "*"."""
    return Hierarchy(
        name="geo_loc_name",
        label="Geographic location",
        source_columns=("geo_country", "geo_region", "geo_place"),
        levels=geo.GEO_LEVELS,
        value=geo.geo_value,
        step=geo.geo_step,
    )


def lat_lon_hierarchy() -> Hierarchy:
    """lat_lon as "lat,lon": 2 decimals -> 1 -> 0 -> 10-degree cells -> "*"."""
    return Hierarchy(
        name="lat_lon",
        label="Latitude and longitude",
        source_columns=("latitude", "longitude"),
        levels=geo.LAT_LON_LEVELS,
        value=geo.lat_lon_value,
        step=geo.lat_lon_step,
    )


def _bmi_value() -> pl.Expr:
    return fixed_point(scaled(pl.col("host_body_mass_index"), 1), 1)


def _bmi_step(text: pl.Expr, level: int) -> pl.Expr:
    tenths = scaled(text.cast(pl.Float64, strict=False), 1)
    if level == 2:
        heavy = pl.when(tenths >= BMI_BOUNDS[1]).then(pl.lit("overweight/obese"))
        return heavy.when(tenths.is_not_null()).then(pl.lit("underweight/normal"))
    # The class's index is the number of lower bounds the value reaches.
    reached = pl.sum_horizontal([(tenths >= bound).cast(pl.Int64) for bound in BMI_BOUNDS])
    index = pl.when(tenths.is_not_null()).then(reached)
    return index.replace_strict(dict(enumerate(BMI_CLASSES)), return_dtype=pl.String)


def bmi_hierarchy() -> Hierarchy:
    """Host BMI: as recorded (one decimal) -> WHO class -> underweight/normal or
    overweight/obese -> "*"."""
    return Hierarchy(
        name="host_body_mass_index",
        label="Host body-mass index",
        source_columns=("host_body_mass_index",),
        levels=(
            "as recorded (one decimal)",
            "WHO class (<18.5, 18.5-24.9, 25-29.9, 30-34.9, 35-39.9, 40+)",
            "underweight/normal or overweight/obese",
            "suppressed",
        ),
        value=_bmi_value,
        step=_bmi_step,
    )


HIERARCHIES: dict[str, Hierarchy] = {
    "host_age": age_hierarchy(),
    "host_sex": categorical_hierarchy("host_sex", label="Host sex"),
    "collection_date": date_hierarchy(),
    "geo_loc_name": geo_hierarchy(),
    "lat_lon": lat_lon_hierarchy(),
    "host_body_mass_index": bmi_hierarchy(),
}

SUGGESTED_QUASI = [
    "host_age",
    "host_sex",
    "collection_date",
    "geo_loc_name",
    "lat_lon",
    "host_body_mass_index",
]
# MIxS names in MimsHumanGut/MimarksSHumanGut: no field is called "medication" or "diet";
# ihmc_medication_code holds medication codes, host_diet and special_diet the diets, and
# gastrointest_disord and liver_disord are diagnoses like host_disease_stat. All but
# host_disease_stat are read from the JSONB `attributes`.
SUGGESTED_SENSITIVE = [
    "host_disease_stat",
    "gastrointest_disord",
    "liver_disord",
    "ihmc_medication_code",
    "host_diet",
    "special_diet",
]
