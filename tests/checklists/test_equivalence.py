"""One rule, three paths: check_cell, the marshmallow schema and the bulk validator agree."""

from __future__ import annotations

import os

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from fairdb.checklists.bulk import validate_frame
from fairdb.checklists.cells import MISSING_VALUES, OUTPUTS, check_cell
from fairdb.checklists.model import checklist_names, get_checklist
from fairdb.schemas.sample import cell_error, sample_schema

CHECKLIST = get_checklist("MimsHumanGut")
FIELDS = [spec for spec in CHECKLIST.fields]
SHAPED = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "2020-12-31",
            "2020-12",
            "2020",
            "31/12/2020",
            "2020-13-01",
            "2021-02-30",
            "0000-01-01",
            "2020-01-01T10:00:00Z",
            "51.84 5.86",
            "45.1 999",
            "-90 180",
            " 1 2",
            "1e3 5",
            "feces [ENVO:00002003]",
            "Wall of gut [fma45653]",
            "a [B:1] ",
            "45 year",
            "22.5",
            "1.5 - 2 kilogram",
            "paired",
            "Paired",
            "yes",
            "YES",
            "12",
            "-3",
            "1.0",
            "USA: Maryland, Bethesda",
            "USA",
            "USA: ",
            "x\ty",
            "x\x07",
            "\u00a0x",
            "=1+2",
            *MISSING_VALUES,
            "Not Collected",
            "missing: other",
        ]
    ),
    st.builds(
        lambda a, b: f"{a:.6f} {b:.6f}",
        st.floats(-95, 95, allow_nan=False),
        st.floats(-185, 185, allow_nan=False),
    ),
    st.builds(
        lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
        st.integers(1, 3000),
        st.integers(0, 13),
        st.integers(0, 32),
    ),
)
EXAMPLES = [spec.example for spec in FIELDS if spec.example]


def bulk_verdict(spec, value):
    frame = pl.DataFrame({spec.name: pl.Series([value], dtype=pl.String)})
    result = validate_frame(frame, CHECKLIST, row_offset=2, extra_columns=[])
    return result


# FAIRDB_EXAMPLES=5000 for a thorough hunt; CI's default keeps the suite quick.
EXAMPLES_PER_TEST = int(os.environ.get("FAIRDB_EXAMPLES", "400"))


@settings(
    max_examples=EXAMPLES_PER_TEST, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(spec=st.sampled_from(FIELDS), value=st.one_of(SHAPED, st.sampled_from(EXAMPLES)))
def test_cell_schema_and_bulk_agree_on_one_cell(spec, value):
    verdict = check_cell(spec, value)
    result = bulk_verdict(spec, value)
    errors = [e for e in result.errors if e.column == spec.name]
    assert (len(errors) == 0) == verdict.ok, (spec.name, value, verdict, errors)
    if not verdict.ok:
        assert (errors[0].code, errors[0].message, errors[0].fix) == (
            verdict.code,
            verdict.message,
            verdict.fix,
        )
    else:
        for name in OUTPUTS.get(spec.name, ()):
            assert result.typed[name][0] == verdict.derived[name], (name, value)
    schema = sample_schema("MimsHumanGut")()
    record = {spec.name: value}
    try:
        schema.load(record)
        schema_errors = {}
    except ValidationError as error:
        schema_errors = error.messages
    mine = schema_errors.get(spec.name) if isinstance(schema_errors, dict) else None
    if verdict.ok:
        assert mine is None
    else:
        assert mine == [cell_error(verdict.message, verdict.fix)]


@settings(max_examples=max(60, EXAMPLES_PER_TEST // 6), deadline=None)
@given(
    spec=st.sampled_from(
        [s for s in FIELDS if s.kind in ("text", "lat_lon", "date", "term", "quantity")]
    ),
    values=st.lists(SHAPED, min_size=1, max_size=60),
)
def test_many_rows_get_the_same_verdict_as_each_cell(spec, values):
    """Large enough columns take the per-row fast path; small ones the distinct-value path."""
    frame = pl.DataFrame({spec.name: pl.Series(values, dtype=pl.String)})
    result = validate_frame(frame, CHECKLIST, row_offset=2, extra_columns=[])
    # Repeated sample names are a rule about the column, not the cell: checked separately.
    bad_rows = {
        e.row for e in result.errors if e.column == spec.name and e.code != "duplicate_name"
    }
    for index, value in enumerate(values):
        verdict = check_cell(spec, value)
        assert (index + 2 not in bad_rows) == verdict.ok, (value, verdict)
    if spec.name == "samp_name":
        names = [check_cell(spec, v).derived.get("samp_name") for v in values]
        repeats = {
            index + 2
            for index, name in enumerate(names)
            if name is not None and name in names[:index]
        }
        assert {e.row for e in result.errors if e.code == "duplicate_name"} == repeats


def test_every_checklist_builds_a_schema():
    for name in checklist_names():
        schema = sample_schema(name, strict=True)()
        with pytest.raises(ValidationError) as raised:
            schema.load({"no_such_field": "x"})
        assert "no_such_field" in raised.value.messages


NUMBER = st.one_of(
    st.floats(-200, 200, allow_nan=False).map(repr),
    st.floats(-200, 200, allow_nan=False).map(lambda x: f"{x:.6f}"),
    st.integers(-1000, 10**7).map(str),
    st.decimals(-1000, 1000, places=12, allow_nan=False).map(str),
    st.sampled_from(["0", "-0", "+1", "1.", ".5", "0.0001", "0.00001", "1e2", "007", "1.50"]),
)
REBUILT_FIELDS = {
    "lat_lon": st.builds(lambda a, b: f"{a} {b}", NUMBER, NUMBER),
    "host_age": st.builds(
        lambda n, u: f"{n}{u}", NUMBER, st.sampled_from(["", " year", " years", "  day", "y"])
    ),
    "host_body_mass_index": st.builds(
        lambda n, u: f"{n}{u}", NUMBER, st.sampled_from(["", " kilogram per square meter"])
    ),
}


@settings(max_examples=EXAMPLES_PER_TEST, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(REBUILT_FIELDS)))
def test_a_cell_left_out_of_attributes_is_rebuilt_exactly(data, name):
    """Numbers are stored as floats; a cell is left out of `attributes` only when the float
    writes it back character for character."""
    from fairdb.models import Sample
    from fairdb.services.export import canonical

    value = data.draw(REBUILT_FIELDS[name])
    frame = pl.DataFrame({name: pl.Series([value], dtype=pl.String)})
    result = validate_frame(frame, CHECKLIST, row_offset=2, extra_columns=[])
    if result.errors or result.cells[name][0] is not None:
        return  # invalid, or kept verbatim
    typed = {column: result.typed[column][0] for column in result.typed.columns}
    assert canonical(Sample(**typed), name) == value
