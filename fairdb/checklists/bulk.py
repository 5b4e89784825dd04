"""The bulk validator: check a whole chunk of a file at columnar speed, with check_cell's verdicts.

Each column is split three ways. Empty cells are decided at once. Cells a vectorised test proves
valid (no control characters or surrounding spaces, the kind's exact shape) get their typed values
from polars expressions. Everything else is checked once per distinct value by `check_cell` and
joined back. The vectorised tests only ever accept what `check_cell` accepts, with the same typed
values; tests/checklists prove it with hypothesis.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import polars as pl

from fairdb.checklists.cells import (
    CONTROL,
    DERIVED_COLUMNS,
    FLOAT,
    MAX_CELL_CHARS,
    MISSING_VALUES,
    OUTPUTS,
    TERM_DERIVED,
    TEXT_DERIVED,
    check_cell,
)
from fairdb.checklists.model import Checklist, Field
from fairdb.checklists.written import written

MAX_ERRORS_KEPT = 10_000
MEMO_MAX_VALUES = 5_000  # per column; more distinct values are decided chunk by chunk
TERM_RE = r"(?s)^(.*\S) \[([a-zA-Z][a-zA-Z0-9._]*:[a-zA-Z0-9]+)\]$"
QUANTITY_RE = rf"(?s)^({FLOAT})(?: *- *{FLOAT})? *(.*)$"
LAT_LON_RE = rf"^({FLOAT}) ({FLOAT})$"
MISSING_RE = "|".join(re.escape(term) for term in MISSING_VALUES)
NOT_PLAIN = rf"{CONTROL.pattern}|^\s|\s$|(?i:^missing:|^(?:{MISSING_RE})$)"
# Numbers written the way Python's repr writes them back (15 significant digits at most, no
# exponent, no trailing zeros): a cell of this shape is rebuilt exactly from its float.
NUMBER_TEXT = (
    r"(?:-?(?:[1-9][0-9]{0,5}(?:\.[0-9]{0,8}[1-9])?|0\.0{0,3}[1-9](?:[0-9]{0,7}[1-9])?)|0)"
)
DTYPES = {"String": pl.String, "Date": pl.Date, "Float64": pl.Float64, "Int64": pl.Int64}


@dataclass(frozen=True)
class CellError:
    row: int
    column: str
    value: str
    code: str
    message: str
    fix: str


@dataclass
class BulkResult:
    """`typed`: the typed columns. `cells`: every cell as written, except those the typed columns
    rebuild exactly (null there), in checklist order then the extra columns."""

    errors: list[CellError]
    typed: pl.DataFrame
    error_count: int
    cells: pl.DataFrame


def combine_lat_lon(frame: pl.DataFrame, lat_column: str, lon_column: str) -> pl.DataFrame:
    """Separate latitude and longitude columns become one MIxS lat_lon cell ('lat lon')."""
    lat, lon = pl.col(lat_column), pl.col(lon_column)
    both = lat.is_not_null() & lon.is_not_null()
    joined = (
        pl.when(both)
        .then(pl.concat_str([lat, lon], separator=" "))
        .otherwise(pl.coalesce(lat, lon))
    )
    return frame.with_columns(joined.alias("lat_lon")).drop([lat_column, lon_column])


def _plain(v: pl.Expr) -> pl.Expr:
    """Cells the fast path may decide: no control characters, no surrounding whitespace,
    not too long, and not a missing-value term (those go through check_cell). One regex pass;
    it may send more cells the slow way than needed (case folding is broader), never fewer."""
    return (
        v.is_not_null()
        & (v.str.len_bytes() > 0)
        & (v.str.len_bytes() <= MAX_CELL_CHARS)
        & ~v.str.contains(NOT_PLAIN)
    )


def _fast(spec: Field, v: pl.Expr) -> tuple[pl.Expr, dict[str, pl.Expr]]:
    """(certainly valid, typed values) as expressions, for the kinds that have a fast path."""
    plain = _plain(v)
    if spec.kind == "text":
        outputs: dict[str, pl.Expr] = {}
        if spec.name in TEXT_DERIVED:
            outputs[spec.name] = v
        if spec.name in TERM_DERIVED:
            label = v.str.extract(TERM_RE, 1)
            outputs[f"{spec.name}_label"] = pl.coalesce(label, v)
            outputs[f"{spec.name}_id"] = v.str.extract(TERM_RE, 2)
        return plain, outputs
    if spec.kind == "term":
        ok = plain & v.str.contains(TERM_RE)
        outputs = {}
        if spec.name in TERM_DERIVED:
            outputs[f"{spec.name}_label"] = v.str.extract(TERM_RE, 1)
            outputs[f"{spec.name}_id"] = v.str.extract(TERM_RE, 2)
        return ok, outputs
    if spec.kind == "lat_lon":
        # Cells of the exact shape split at their one space (cheaper than capture groups).
        shaped = v.str.contains(LAT_LON_RE)
        parts = pl.when(shaped).then(v).str.split_exact(" ", 1)
        lat = parts.struct.field("field_0").cast(pl.Float64, strict=False)
        lon = parts.struct.field("field_1").cast(pl.Float64, strict=False)
        ok = plain & shaped & lat.is_between(-90, 90) & lon.is_between(-180, 180)
        return ok, {"latitude": lat, "longitude": lon}
    if spec.kind == "date":
        day = v.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        month = (v + "-01").str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        year = (v + "-01-01").str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        is_day = v.str.contains(r"^[12][0-9]{3}-[0-9]{2}-[0-9]{2}$") & day.is_not_null()
        is_month = v.str.contains(r"^[12][0-9]{3}-[0-9]{2}$") & month.is_not_null()
        is_year = v.str.contains(r"^[12][0-9]{3}$") & year.is_not_null()
        value = pl.when(is_day).then(day).when(is_month).then(month).when(is_year).then(year)
        precision = (
            pl.when(is_day)
            .then(pl.lit("day"))
            .when(is_month)
            .then(pl.lit("month"))
            .when(is_year)
            .then(pl.lit("year"))
        )
        ok = plain & (is_day | is_month | is_year)
        return ok, {"collection_date": value, "collection_date_precision": precision}
    if spec.kind == "quantity":
        number = v.str.extract(QUANTITY_RE, 1).cast(pl.Float64, strict=False)
        ok = plain & v.str.contains(QUANTITY_RE) & number.is_not_null()
        unit = v.str.extract(QUANTITY_RE, 2)
        outputs = {}
        if spec.name == "host_age":
            outputs["host_age_value"] = number
            outputs["host_age_unit"] = (
                pl.when(unit.str.strip_chars() == "").then(None).otherwise(unit.str.strip_chars())
            )
        elif spec.name == "host_body_mass_index":
            outputs["host_body_mass_index"] = number
            outputs["host_body_mass_index_unit"] = (
                pl.when(unit.str.strip_chars() == "").then(None).otherwise(unit.str.strip_chars())
            )
        # Units with surrounding control-free whitespace other than spaces go the slow way.
        ok = ok & ~unit.str.contains(r"^\s")
        return ok, outputs
    return pl.lit(False), {}


def _decide(spec: Field, values: pl.Series) -> pl.DataFrame:
    """One row per value, in order: v, __ok, __code, __message, __fix and the typed outputs."""
    outputs = OUTPUTS.get(spec.name, ())
    v = pl.col("v")
    accepted, fast_outputs = _fast(spec, v)
    decided = pl.DataFrame({"v": values}).with_columns(
        accepted.fill_null(False).alias("__fast"),
        (v.is_null() | (v.str.strip_chars() == "")).alias("__empty"),
        *[expr.alias(f"__f_{name}") for name, expr in fast_outputs.items()],
    )
    if decided["__fast"].all():
        # Every cell passed the vectorised test: nothing to look up, no errors.
        return _with_rebuilt(
            spec,
            decided.select(
                "v",
                pl.lit(True).alias("__ok"),
                *[pl.lit(None, pl.String).alias(f"__{n}") for n in ("code", "message", "fix")],
                *[
                    pl.col(f"__f_{name}").cast(DTYPES[DERIVED_COLUMNS[name]]).alias(name)
                    if name in fast_outputs
                    else pl.lit(None, DTYPES[DERIVED_COLUMNS[name]]).alias(name)
                    for name in outputs
                ],
            ),
        )
    slow_values = decided.filter(~pl.col("__fast") & ~pl.col("__empty"))["v"].unique()
    verdicts = [check_cell(spec, value) for value in slow_values.to_list()]
    empty = check_cell(spec, "")
    mapping = pl.DataFrame(
        {
            "v": slow_values,
            "__s_ok": [verdict.ok for verdict in verdicts],
            "__s_code": [verdict.code for verdict in verdicts],
            "__s_message": [verdict.message for verdict in verdicts],
            "__s_fix": [verdict.fix for verdict in verdicts],
            **{
                f"__s_{name}": pl.Series(
                    [verdict.derived.get(name) for verdict in verdicts],
                    dtype=DTYPES[DERIVED_COLUMNS[name]],
                )
                for name in outputs
            },
        },
        schema_overrides={
            "v": pl.String,
            "__s_ok": pl.Boolean,
            "__s_code": pl.String,
            "__s_message": pl.String,
            "__s_fix": pl.String,
        },
    )
    if mapping.height:
        decided = decided.join(mapping, on="v", how="left", maintain_order="left")
    else:
        decided = decided.with_columns(
            pl.lit(None, pl.Boolean).alias("__s_ok"),
            *[pl.lit(None, pl.String).alias(f"__s_{n}") for n in ("code", "message", "fix")],
            *[pl.lit(None, DTYPES[DERIVED_COLUMNS[n]]).alias(f"__s_{n}") for n in outputs],
        )
    fast, is_empty = pl.col("__fast"), pl.col("__empty")
    empty_ok = not empty.ok

    def pick(name: str, on_empty: object) -> pl.Expr:
        dtype = DTYPES[DERIVED_COLUMNS[name]] if name in DERIVED_COLUMNS else pl.String
        fast_value = (
            pl.col(f"__f_{name}").cast(dtype) if name in fast_outputs else pl.lit(None, dtype)
        )
        return (
            pl.when(fast)
            .then(fast_value)
            .when(is_empty)
            .then(pl.lit(on_empty, dtype))
            .otherwise(pl.col(f"__s_{name}").cast(dtype))
        )

    return _with_rebuilt(
        spec,
        decided.select(
            "v",
            (
                fast
                | (is_empty & pl.lit(not empty_ok))
                | (~is_empty & pl.col("__s_ok").fill_null(False))
            ).alias("__ok"),
            pl.when(is_empty).then(pl.lit(empty.code)).otherwise("__s_code").alias("__code"),
            pl.when(is_empty)
            .then(pl.lit(empty.message))
            .otherwise("__s_message")
            .alias("__message"),
            pl.when(is_empty).then(pl.lit(empty.fix)).otherwise("__s_fix").alias("__fix"),
            *[pick(name, None).alias(name) for name in outputs],
        ),
    )


def _with_rebuilt(spec: Field, decided: pl.DataFrame) -> pl.DataFrame:
    """Add __rebuilt: the typed outputs write this (valid) value back character for character."""
    rebuilt = _rebuilt_expr(spec.name)
    if rebuilt is None:
        return decided.with_columns(pl.lit(False).alias("__rebuilt"))
    return decided.with_columns((pl.col("__ok") & rebuilt).fill_null(False).alias("__rebuilt"))


def _check_column(
    spec: Field,
    column: pl.Series,
    rows_of: pl.Series,
    errors: list[CellError],
    memo: dict[str, pl.DataFrame] | None,
) -> tuple[dict[str, pl.Series], pl.Series | None, int]:
    """Typed outputs of one column, which cells they rebuild exactly, and how many cells are
    invalid."""
    outputs = OUTPUTS.get(spec.name, ())
    distinct = column.unique()
    if len(distinct) * 4 <= len(column):
        # Few distinct values: decide each once (or reuse an earlier chunk's verdicts), then
        # map the rows onto the verdicts.
        known = memo.get(spec.name) if memo is not None else None
        if known is None:
            verdicts = _decide(spec, distinct)
        else:
            new = distinct.filter(~distinct.is_in(known["v"].implode(), nulls_equal=True))
            verdicts = pl.concat([known, _decide(spec, new)]) if len(new) else known
        if memo is not None and verdicts.height <= MEMO_MAX_VALUES:
            memo[spec.name] = verdicts
        if not outputs and verdicts["__ok"].all():
            return {}, None, 0
        rows = (
            pl.DataFrame({"v": column})
            .with_row_index("__i")
            .join(verdicts, on="v", how="left", nulls_equal=True, maintain_order="left")
        )
    else:
        rows = _decide(spec, column).with_row_index("__i")
    bad = rows.filter(~pl.col("__ok"))
    room = max(MAX_ERRORS_KEPT - len(errors), 0)
    for index, value, code, message, fix in (
        bad.head(room).select("__i", "v", "__code", "__message", "__fix").iter_rows()
    ):
        errors.append(CellError(int(rows_of[index]), spec.name, value or "", code, message, fix))
    rebuilt = rows["__rebuilt"] if outputs else None
    return {name: rows[name].alias(name) for name in outputs}, rebuilt, bad.height


def validate_frame(
    frame: pl.DataFrame,
    checklist: Checklist,
    *,
    row_offset: int = 0,
    extra_columns: list[str],
    row_numbers: pl.Series | None = None,
    memo: dict[str, pl.DataFrame] | None = None,
) -> BulkResult:
    """Check every cell of a chunk. Row i of the frame is spreadsheet row `row_numbers[i]`, or
    row_offset + i when no numbers are given. Pass the same `memo` for every chunk of a file:
    columns with few distinct values then decide each value once per file."""
    rows_of = (
        row_numbers
        if row_numbers is not None
        else pl.Series(range(row_offset, row_offset + frame.height), dtype=pl.Int64)
    )
    errors: list[CellError] = []
    count = 0
    typed: dict[str, pl.Series] = {}
    masks: dict[str, pl.Series] = {}
    for spec in checklist.fields:
        if spec.name not in frame.columns:
            continue
        outputs, rebuilt, bad = _check_column(spec, frame[spec.name], rows_of, errors, memo)
        typed.update(outputs)
        if rebuilt is not None:
            masks[spec.name] = rebuilt
        count += bad
    if "samp_name" in typed:
        count += _duplicate_names(typed["samp_name"], rows_of, errors)
    height = frame.height
    columns = [
        typed[name].alias(name)
        if name in typed
        else pl.Series(name, [], dtype=DTYPES[dtype]).extend_constant(None, height)
        for name, dtype in DERIVED_COLUMNS.items()
    ]
    result = pl.DataFrame(columns)
    known = [s.name for s in checklist.fields if s.name in frame.columns]
    order = [*known, *[e for e in extra_columns if e in frame.columns and e not in known]]
    cells = frame.select(
        [
            pl.when(pl.lit(masks[name])).then(None).otherwise(pl.col(name)).alias(name)
            if name in masks
            else pl.col(name)
            for name in order
        ]
    )
    return BulkResult(errors=errors, typed=result, error_count=count, cells=cells)


def _duplicate_names(names: pl.Series, rows_of: pl.Series, errors: list[CellError]) -> int:
    frame = pl.DataFrame({"name": names}).with_row_index("i").drop_nulls("name")
    firsts = frame.group_by("name", maintain_order=True).agg(pl.col("i").min().alias("first"))
    clashes = frame.join(firsts, on="name").filter(pl.col("i") != pl.col("first"))
    for index, name, first in clashes.select("i", "name", "first").iter_rows():
        if len(errors) < MAX_ERRORS_KEPT:
            errors.append(
                CellError(
                    int(rows_of[index]),
                    "samp_name",
                    name,
                    "duplicate_name",
                    f"The sample name '{name}' is also used in row {int(rows_of[first])}.",
                    "Give every sample its own name (samp_name), e.g. by adding a suffix.",
                )
            )
    return clashes.height


def _rebuilt_expr(name: str) -> pl.Expr | None:
    """Over a value `v` and its typed outputs: whether the outputs write `v` back exactly
    (export.canonical does the writing). Such cells are not repeated in `attributes`."""
    v = pl.col("v")
    # Text, terms, dates and places: rebuilt exactly when written back the same.
    shown = written(name)
    numeric = ("lat_lon", "host_age", "host_body_mass_index", "host_taxid")
    if shown is not None and name not in numeric:
        return shown == v
    # Numbers: a cell in NUMBER_TEXT shape is exactly what Python's float repr writes back.
    number = NUMBER_TEXT
    if name == "lat_lon":
        return v.str.contains(rf"^{number} {number}$") & pl.col("latitude").is_not_null()
    quantities = {
        "host_age": ("host_age_value", "host_age_unit"),
        "host_body_mass_index": ("host_body_mass_index", "host_body_mass_index_unit"),
    }
    if name in quantities:
        value, unit = quantities[name]
        kept = pl.concat_str(
            [
                v.str.extract(rf"^({number})(?: |$)", 1),
                pl.when(pl.col(unit).is_not_null())
                .then(pl.lit(" ") + pl.col(unit))
                .otherwise(pl.lit("")),
            ]
        )
        return (kept == v) & pl.col(value).is_not_null()
    if name == "host_taxid":
        return v.str.contains(r"^(?:0|[1-9][0-9]{0,17})$") & (
            pl.col("host_taxid").cast(pl.String) == v
        )
    return None


# Fields whose cells may be left out (null in `cells`): never shared per upload, where null
# would mean "empty".
REBUILDABLE = frozenset(name for name in OUTPUTS if _rebuilt_expr(name) is not None)


def shared_cells(cells: pl.DataFrame) -> dict[str, str]:
    """Values that more than half of the rows share, per column: stored once per upload."""
    shared = {}
    for name in cells.columns:
        if name in REBUILDABLE:
            continue
        counts = cells[name].drop_nulls().value_counts(sort=True)
        if counts.height and counts["count"][0] * 2 > cells.height:
            shared[name] = counts[name][0]
    return shared


def attributes_json(cells: pl.DataFrame, shared: dict[str, str] | None = None) -> pl.Series:
    """Each row's cells as a JSON object keyed by field name or header. A column with a shared
    value leaves out the cells equal to it and writes null where the row has no value."""
    shared = shared or {}
    parts = []
    for name in cells.columns:
        values = cells[name]
        if name in shared and values.eq_missing(shared[name]).all():
            continue  # every row has the shared value
        if name not in shared and values.null_count() == len(values):
            continue
        column = pl.col(name)
        filled = column.is_not_null() & (column != "")
        pair = pl.struct(column).struct.json_encode().str.slice(1).str.strip_suffix("}")
        if name in shared:
            blank = json.dumps({name: None})[1:-1]
            parts.append(
                pl.when(~filled)
                .then(pl.lit(blank))
                .when(column == shared[name])
                .then(None)
                .otherwise(pair)
            )
        else:
            parts.append(pl.when(filled).then(pair))
    if not parts:
        return pl.Series("attributes", ["{}"] * cells.height, dtype=pl.String)
    joined = pl.concat_str(parts, separator=",", ignore_nulls=True)
    return cells.select(pl.concat_str([pl.lit("{"), joined, pl.lit("}")]).alias("attributes"))[
        "attributes"
    ]
