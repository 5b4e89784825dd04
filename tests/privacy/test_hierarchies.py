"""Generalisation hierarchies: concrete values per level, and the lattice properties they keep."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairdb.models import sample as sample_model
from fairdb.services.privacy.hierarchies import (
    AGE_UNITS_PER_YEAR,
    HIERARCHIES,
    MISSING,
    SUGGESTED_QUASI,
    SUGGESTED_SENSITIVE,
    SUPPRESSED,
    Hierarchy,
    age_hierarchy,
    categorical_hierarchy,
    loss_on_data,
    numeric_hierarchy,
    user_mapping,
)
from fairdb.services.privacy.hierarchies_geo import COUNTRY_REGION, UNLISTED

CHECKLIST = Path(__file__).resolve().parents[2] / "fairdb/checklists/data/MimsHumanGut.json"

# The typed columns each hierarchy reads, as PostgreSQL hands them over.
SCHEMA: dict[str, Any] = {
    "host_age_value": pl.Float64,
    "host_age_unit": pl.String,
    "host_sex": pl.String,
    "collection_date": pl.Date,
    "collection_date_precision": pl.String,
    "geo_country": pl.String,
    "geo_region": pl.String,
    "geo_place": pl.String,
    "latitude": pl.Float64,
    "longitude": pl.Float64,
    "host_body_mass_index": pl.Float64,
}


def levels_of(hierarchy: Hierarchy, rows: list[dict[str, Any]]) -> list[list[str]]:
    """Each record's values at every level, from typed columns: [record][level]."""
    columns = {name: SCHEMA.get(name, pl.String) for name in hierarchy.source_columns}
    frame = pl.DataFrame(rows, schema=columns)
    return generalised(hierarchy, frame.select(hierarchy.base()))


def generalised(hierarchy: Hierarchy, base: pl.DataFrame) -> list[list[str]]:
    name = hierarchy.name
    table = base.select(
        [
            hierarchy.generalise(name, level).alias(str(level))
            for level in range(len(hierarchy.levels))
        ]
    )
    return [list(row) for row in table.rows()]


def one(hierarchy: Hierarchy, **row: Any) -> list[str]:
    return levels_of(hierarchy, [row])[0]


# --- concrete values ------------------------------------------------------------------------


def test_age_bands_and_top_coding() -> None:
    age = HIERARCHIES["host_age"]
    assert one(age, host_age_value=34.0, host_age_unit="years") == [
        "34",
        "30-34",
        "30-39",
        "20-39",
        "*",
    ]
    assert one(age, host_age_value=93.0, host_age_unit="years") == ["93", "90+", "90+", "90+", "*"]
    # Bands end where top coding begins: 80-89 at the 20-year level, not "80-99".
    assert one(age, host_age_value=85.0, host_age_unit="y")[1:4] == ["85-89", "80-89", "80-89"]
    assert one(age, host_age_value=18.0, host_age_unit="months")[:2] == ["1.5", "0-4"]
    assert one(age, host_age_value=365.25, host_age_unit="days")[0] == "1"


def test_age_in_an_unknown_unit_is_missing_as_in_search() -> None:
    age = HIERARCHIES["host_age"]
    for unit in ("hours", None):
        assert one(age, host_age_value=30.0, host_age_unit=unit) == [MISSING] * 4 + ["*"]


def test_age_units_are_those_search_reads() -> None:
    theirs = {frozenset(condition.right.value) for condition, _ in sample_model.age_in_years.whens}
    ours: dict[float, set[str]] = {}
    for unit, per_year in AGE_UNITS_PER_YEAR.items():
        ours.setdefault(per_year, set()).add(unit)
    assert theirs == {frozenset(units) for units in ours.values()}


def test_age_thresholds_are_configurable() -> None:
    age = age_hierarchy(top=80, bottom=18)
    assert one(age, host_age_value=80.0, host_age_unit="years")[1:4] == ["80+"] * 3
    assert one(age, host_age_value=17.9, host_age_unit="years")[1:4] == ["<18"] * 3
    assert one(age, host_age_value=19.0, host_age_unit="years")[1:4] == ["18-19", "18-19", "18-19"]
    assert one(age, host_age_value=79.5, host_age_unit="years")[1:4] == ["75-79", "70-79", "60-79"]


def test_dates_keep_their_precision() -> None:
    date = HIERARCHIES["collection_date"]
    day = dt.date(2019, 5, 3)
    assert one(date, collection_date=day, collection_date_precision="day") == [
        "2019-05-03",
        "2019-05",
        "2019",
        "2010s",
        "*",
    ]
    year_only = one(date, collection_date=dt.date(2019, 1, 1), collection_date_precision="year")
    assert year_only == ["2019", "2019", "2019", "2010s", "*"]
    month = one(date, collection_date=dt.date(2019, 5, 1), collection_date_precision="month")
    assert month[:3] == ["2019-05", "2019-05", "2019"]
    # A date and time is stored as its day.
    assert one(date, collection_date=day, collection_date_precision="time")[0] == "2019-05-03"


def test_geo_loc_name_climbs_to_the_continent() -> None:
    geo = HIERARCHIES["geo_loc_name"]
    munich = one(geo, geo_country="Germany", geo_region="Bavaria", geo_place="Munich")
    assert munich == ["Germany: Bavaria, Munich", "Germany: Bavaria", "Germany", "Europe", "*"]
    assert one(geo, geo_country="USA", geo_region=None, geo_place=None) == [
        "USA",
        "USA",
        "USA",
        "Americas",
        "*",
    ]
    # A place without a region: the region level falls back to the country.
    berlin = one(geo, geo_country="Germany", geo_region=None, geo_place="Berlin")
    assert berlin == ["Germany: , Berlin", "Germany", "Germany", "Europe", "*"]
    # Everything after the first colon and comma belongs to the place.
    odd = one(geo, geo_country="Japan", geo_region="Tokyo: Minato", geo_place="Roppongi, 6")
    assert odd[1:4] == ["Japan: Tokyo: Minato", "Japan", "Asia"]
    assert one(geo, geo_country="viet nam", geo_region=None, geo_place=None)[3] == "Asia"
    assert one(geo, geo_country="Atlantis", geo_region=None, geo_place=None)[3] == UNLISTED
    assert one(geo, geo_country="Baltic Sea", geo_region=None, geo_place=None)[3] == "Ocean or sea"


def test_country_table_uses_insdc_names() -> None:
    for country in ("USA", "United Kingdom", "Viet Nam", "Cote d'Ivoire", "Russia", "Antarctica"):
        assert country.lower() in COUNTRY_REGION
    assert set(COUNTRY_REGION.values()) == {
        "Africa",
        "Americas",
        "Asia",
        "Europe",
        "Oceania",
        "Antarctica",
        "Ocean or sea",
    }


def test_lat_lon_grid_cells_take_the_south_west_corner() -> None:
    lat_lon = HIERARCHIES["lat_lon"]
    assert one(lat_lon, latitude=52.5219, longitude=13.4049) == [
        "52.52,13.40",
        "52.5,13.4",
        "52,13",
        "50,10",
        "*",
    ]
    assert one(lat_lon, latitude=-0.57, longitude=-33.9)[:4] == [
        "-0.57,-33.90",
        "-0.6,-33.9",
        "-1,-34",
        "-10,-40",
    ]
    assert one(lat_lon, latitude=52.5, longitude=None) == [MISSING] * 4 + ["*"]


def test_bmi_follows_the_who_classes() -> None:
    bmi = HIERARCHIES["host_body_mass_index"]
    assert one(bmi, host_body_mass_index=24.9) == ["24.9", "normal", "underweight/normal", "*"]
    assert one(bmi, host_body_mass_index=25.0) == ["25.0", "overweight", "overweight/obese", "*"]
    assert one(bmi, host_body_mass_index=40.0)[1] == "obese III"
    assert one(bmi, host_body_mass_index=18.4)[1] == "underweight"
    assert one(bmi, host_body_mass_index=18.5)[1] == "normal"
    assert one(bmi, host_body_mass_index=34.9)[1] == "obese I"
    assert one(bmi, host_body_mass_index=35.0)[1] == "obese II"


def test_sex_is_kept_or_suppressed() -> None:
    sex = HIERARCHIES["host_sex"]
    assert one(sex, host_sex="female") == ["female", "*"]
    assert one(sex, host_sex=None) == [MISSING, "*"]


@pytest.mark.parametrize("name", list(HIERARCHIES))
def test_missing_is_a_category_below_the_top(name: str) -> None:
    hierarchy = HIERARCHIES[name]
    values = one(hierarchy, **dict.fromkeys(hierarchy.source_columns))
    assert values == [MISSING] * hierarchy.height + [SUPPRESSED]


def test_user_mapping_groups_and_pools_the_rest() -> None:
    diet = user_mapping("host_diet", {"vegan": "plant-based", "vegetarian": "plant-based"})
    frame = pl.DataFrame({"host_diet": ["vegan", "vegetarian", "keto", None]})
    assert [row[1] for row in generalised(diet, frame.select(diet.base()))] == [
        "plant-based",
        "plant-based",
        "other",
        MISSING,
    ]
    kept = user_mapping("host_diet", {"vegan": "plant-based"}, other=None)
    assert [row[1] for row in generalised(kept, frame.select(kept.base()))][2] == "keto"


def test_numeric_factory_rejects_bands_that_do_not_nest() -> None:
    with pytest.raises(ValueError, match="divide"):
        numeric_hierarchy("host_height", widths=(5, 12))
    with pytest.raises(ValueError, match="below"):
        numeric_hierarchy("host_height", top=10, bottom=20)


def test_top_level_keeps_one_row_per_record() -> None:
    frame = pl.DataFrame({"host_sex": ["a", "b", None]})
    assert frame.select(HIERARCHIES["host_sex"].generalise("host_sex", 1)).height == 3


def test_loss_rejects_levels_outside_the_hierarchy() -> None:
    with pytest.raises(ValueError, match="levels 0 to 4"):
        HIERARCHIES["host_age"].loss(5)
    with pytest.raises(ValueError, match="levels 0 to 4"):
        HIERARCHIES["host_age"].generalise("host_age", -1)


def test_loss_on_data_weighs_what_is_merged() -> None:
    age = HIERARCHIES["host_age"]
    frame = pl.DataFrame({"host_age": ["31", "32", "47"], "n": [1, 1, 2]})
    # 5-year bands merge 31 and 32 (one of two other values each) but leave 47 alone.
    assert loss_on_data(frame, age, "host_age", 1) == pytest.approx((0.5 + 0.5) / 4)
    assert loss_on_data(frame, age, "host_age", 1, weight=None) == pytest.approx(1 / 3)
    assert loss_on_data(frame, age, "host_age", 0) == 0.0
    assert loss_on_data(frame, age, "host_age", age.height) == 1.0
    assert loss_on_data(frame.head(1), age, "host_age", 4) == 0.0


def test_suggestions_name_hierarchies_and_checklist_fields() -> None:
    assert set(SUGGESTED_QUASI) <= set(HIERARCHIES)
    assert all(hierarchy.name == key for key, hierarchy in HIERARCHIES.items())
    fields = {field["name"] for field in json.loads(CHECKLIST.read_text())["fields"]}
    assert set(SUGGESTED_SENSITIVE) <= fields
    assert not set(SUGGESTED_SENSITIVE) & set(SUGGESTED_QUASI)


# --- properties -----------------------------------------------------------------------------

NUMBERS = st.none() | st.floats(allow_nan=True, allow_infinity=True)
TEXT = st.none() | st.text(alphabet="ab:, -.09", max_size=12)
ROWS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "host_age": st.fixed_dictionaries(
        {
            "host_age_value": st.none() | st.floats(-1, 130) | NUMBERS,
            "host_age_unit": st.sampled_from([*AGE_UNITS_PER_YEAR, "hours", None]),
        }
    ),
    "host_sex": st.fixed_dictionaries({"host_sex": st.sampled_from(["female", "male", None])}),
    "collection_date": st.fixed_dictionaries(
        {
            "collection_date": st.none() | st.dates(dt.date(1000, 1, 1)),
            "collection_date_precision": st.sampled_from(["day", "month", "year", "time", None]),
        }
    ),
    "geo_loc_name": st.fixed_dictionaries(
        {
            "geo_country": st.none() | st.sampled_from(["Germany", "USA", "Japan", "Mars"]) | TEXT,
            "geo_region": TEXT,
            "geo_place": TEXT,
        }
    ),
    "lat_lon": st.fixed_dictionaries(
        {
            "latitude": st.none() | st.floats(-90, 90) | NUMBERS,
            "longitude": st.none() | st.floats(-180, 180) | NUMBERS,
        }
    ),
    "host_body_mass_index": st.fixed_dictionaries(
        {"host_body_mass_index": st.none() | st.floats(10, 60) | NUMBERS}
    ),
}


def assert_lattice_properties(hierarchy: Hierarchy, table: list[list[str]]) -> None:
    top = hierarchy.height
    for level in range(top):
        # Monotone: a level's value decides the next level's value.
        following: dict[str, str] = {}
        for row in table:
            assert following.setdefault(row[level], row[level + 1]) == row[level + 1]
    distinct = [len({row[level] for row in table}) for level in range(top + 1)]
    assert distinct == sorted(distinct, reverse=True)
    assert {row[top] for row in table} == {SUPPRESSED}
    for row in table:
        assert None not in row
        if row[0] == MISSING:
            assert row[:top] == [MISSING] * top


def assert_loss_properties(hierarchy: Hierarchy) -> None:
    losses = [hierarchy.loss(level) for level in range(hierarchy.height + 1)]
    assert losses[0] == 0.0
    assert losses[-1] == 1.0
    assert all(low < high for low, high in zip(losses, losses[1:], strict=False))


@pytest.mark.parametrize("name", list(HIERARCHIES))
def test_every_hierarchy_is_a_valid_lattice_axis(name: str) -> None:
    hierarchy = HIERARCHIES[name]
    assert_loss_properties(hierarchy)

    @settings(max_examples=60, deadline=None)
    @given(st.lists(ROWS[name], min_size=1, max_size=40))
    def check(rows: list[dict[str, Any]]) -> None:
        assert_lattice_properties(hierarchy, levels_of(hierarchy, rows))

    check()


@pytest.mark.parametrize("name", list(HIERARCHIES))
def test_any_text_at_level_zero_still_nests(name: str) -> None:
    hierarchy = HIERARCHIES[name]

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.none() | st.text(max_size=20) | TEXT, min_size=1, max_size=40))
    def check(values: list[str | None]) -> None:
        base = pl.DataFrame({name: values}, schema={name: pl.String})
        assert_lattice_properties(hierarchy, generalised(hierarchy, base))

    check()


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 10),
    st.lists(st.integers(1, 4), min_size=1, max_size=3),
    st.none() | st.integers(0, 120),
    st.none() | st.integers(-20, 60),
    st.lists(st.none() | st.floats(-50, 200) | NUMBERS, min_size=1, max_size=40),
)
def test_numeric_factory_nests_for_any_bands(
    first: int,
    factors: list[int],
    top: int | None,
    bottom: int | None,
    values: list[float | None],
) -> None:
    widths = [first]
    for factor in factors:
        widths.append(widths[-1] * factor)
    if top is not None and bottom is not None and bottom >= top:
        bottom = None
    hierarchy = numeric_hierarchy("x", widths=widths, top=top, bottom=bottom)
    assert_loss_properties(hierarchy)
    base = pl.DataFrame({"x": values}, schema={"x": pl.Float64}).select(hierarchy.base())
    assert_lattice_properties(hierarchy, generalised(hierarchy, base))


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(st.sampled_from("abcdef"), st.sampled_from(["g1", "g2", "other"])),
    st.sampled_from(["other", None]),
    st.lists(st.none() | st.sampled_from("abcdefgh"), min_size=1, max_size=30),
)
def test_user_mapping_and_categorical_nest(
    mapping: dict[str, str], other: str | None, values: list[str | None]
) -> None:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    for hierarchy in (user_mapping("v", mapping, other=other), categorical_hierarchy("v")):
        assert_loss_properties(hierarchy)
        assert_lattice_properties(hierarchy, generalised(hierarchy, frame.select(hierarchy.base())))
