"""The rule for one cell: is this text a valid value of this field, what is wrong, how to fix it.

The bulk validator and the marshmallow schema both end here, so every path gives the same
verdict and the same words. Known defects of MIxS 7.0.1 are handled on purpose:
- collection_date is typed datetime but its definition allows reduced precision (2008, 2008-01);
- the lat_lon pattern accepts 45.1 999, so latitude and longitude are checked numerically;
- term ids are PREFIX:digits; an example such as `Wall of gut [fma45653]` is malformed and is
  reported with the corrected form as the fix (we never rewrite a researcher's value silently).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fairdb.checklists.model import Field

MAX_CELL_CHARS = 10_000
MISSING_VALUES = (
    "not applicable",
    "not collected",
    "not provided",
    "restricted access",
    "missing: control sample",
    "missing: sample group",
    "missing: synthetic construct",
    "missing: lab stock",
    "missing: third party data",
    "missing: data agreement established pre-2023",
    "missing: endangered species",
    "missing: human-identifiable",
)
MISSING_SET = frozenset(MISSING_VALUES)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Typed columns of the samples table, with their polars dtype names.
DERIVED_COLUMNS: dict[str, str] = {
    "samp_name": "String",
    "collection_date": "Date",
    "collection_date_precision": "String",
    "geo_country": "String",
    "geo_region": "String",
    "geo_place": "String",
    "latitude": "Float64",
    "longitude": "Float64",
    "env_broad_scale_label": "String",
    "env_broad_scale_id": "String",
    "env_local_scale_label": "String",
    "env_local_scale_id": "String",
    "env_medium_label": "String",
    "env_medium_id": "String",
    "host_taxid": "Int64",
    "seq_meth": "String",
    "host_subject_id": "String",
    "host_sex": "String",
    "host_body_site_label": "String",
    "host_body_site_id": "String",
    "host_age_value": "Float64",
    "host_age_unit": "String",
    "host_body_mass_index": "Float64",
    "host_body_mass_index_unit": "String",
    "host_disease_stat": "String",
}
# Which typed columns each field fills.
TEXT_DERIVED = {"samp_name", "seq_meth", "host_subject_id", "host_sex", "host_disease_stat"}
TERM_DERIVED = {"env_broad_scale", "env_local_scale", "env_medium", "host_body_site"}
OUTPUTS: dict[str, tuple[str, ...]] = {
    **{name: (name,) for name in TEXT_DERIVED},
    **{name: (f"{name}_label", f"{name}_id") for name in TERM_DERIVED},
    "collection_date": ("collection_date", "collection_date_precision"),
    "geo_loc_name": ("geo_country", "geo_region", "geo_place"),
    "lat_lon": ("latitude", "longitude"),
    "host_taxid": ("host_taxid",),
    "host_age": ("host_age_value", "host_age_unit"),
    "host_body_mass_index": ("host_body_mass_index", "host_body_mass_index_unit"),
}

FLOAT = r"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
QUANTITY = re.compile(rf"^({FLOAT})(?: *- *{FLOAT})? *(.*)$", re.DOTALL)
TERM = re.compile(r"^(.*\S) \[([a-zA-Z][a-zA-Z0-9._]*:[a-zA-Z0-9]+)\]$", re.DOTALL)
LOOSE_TERM = re.compile(r"^(.*\S)\s*\[\s*([A-Za-z][A-Za-z0-9._]*?)[:_ ]?(\d+)\s*\]$", re.DOTALL)
ISO_DATE = re.compile(
    r"^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})"
    r"(T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?$"
)
SLASH_DATE = re.compile(r"^([0-9]{1,2})[/.]([0-9]{1,2})[/.]([0-9]{4})$")
LAT_LON = re.compile(rf"^({FLOAT}) ({FLOAT})$")
INTEGER = re.compile(r"^[+-]?[0-9]+$")


@dataclass(frozen=True)
class CellVerdict:
    ok: bool
    code: str | None = None
    message: str | None = None
    fix: str | None = None
    derived: dict[str, Any] = field(default_factory=dict)


def shown(value: str, limit: int = 60) -> str:
    """A value as quoted in a message: shortened, control characters made visible."""
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    return "'" + CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text) + "'"


def empty_derived(spec: Field) -> dict[str, Any]:
    return dict.fromkeys(OUTPUTS.get(spec.name, ()))


def _bad(spec: Field, code: str, message: str, fix: str) -> CellVerdict:
    return CellVerdict(False, code, message, fix, empty_derived(spec))


def _example(spec: Field) -> str:
    return f", e.g. {spec.example}" if spec.example else ""


def check_cell(spec: Field, raw: str | None) -> CellVerdict:
    """The verdict on one cell of field `spec`; `raw` is the text as written in the file."""
    value = (raw or "").strip()
    if not value:
        if spec.required:
            return _bad(
                spec,
                "required",
                f"{spec.name} is required but this cell is empty.",
                f"Enter a value{_example(spec)}, or a missing-value term such as 'not collected'.",
            )
        return CellVerdict(True, derived=empty_derived(spec))
    control = CONTROL.search(raw or "")
    if control is not None:
        return _bad(
            spec,
            "control_character",
            f"{shown(value)} contains the invisible control character "
            f"\\x{ord(control.group()):02x} at position {control.start() + 1}.",
            "Delete the character (it often comes from copying out of another program).",
        )
    if len(value) > MAX_CELL_CHARS:
        return _bad(
            spec,
            "too_long",
            f"This cell is {len(value):,} characters long; the limit is {MAX_CELL_CHARS:,}.",
            "Shorten the value, or put long text in a file and give its URL or DOI instead.",
        )
    if value.lower() in MISSING_SET:
        if spec.name == "samp_name":  # the one field that identifies the row
            return _bad(
                spec,
                "required",
                f"samp_name cannot be {shown(value)}: every sample needs its own name.",
                f"Enter the sample's name{_example(spec)}.",
            )
        return CellVerdict(True, derived=empty_derived(spec))
    if value.lower().startswith("missing:"):
        return _bad(
            spec,
            "missing_value",
            f"{shown(value)} is not one of the INSDC missing-value terms.",
            "Use one of: " + "; ".join(MISSING_VALUES) + ".",
        )
    checker = _CHECKERS.get(spec.kind, _check_text)
    return checker(spec, value)


def _check_text(spec: Field, value: str) -> CellVerdict:
    derived = empty_derived(spec)
    if spec.name in TEXT_DERIVED:
        derived[spec.name] = value
    if spec.name in TERM_DERIVED:
        found = TERM.match(value)
        derived[f"{spec.name}_label"] = found.group(1) if found else value
        derived[f"{spec.name}_id"] = found.group(2) if found else None
    return CellVerdict(True, derived=derived)


def _check_date(spec: Field, value: str) -> CellVerdict:
    start = (
        value.split("/", 1)[0] if "/" in value and ISO_DATE.match(value.split("/")[0]) else value
    )
    if start != value:
        end = value.split("/", 1)[1]
        if not ISO_DATE.match(end):
            return _bad(
                spec,
                "date_format",
                f"{shown(value)} is an interval whose end is not an ISO 8601 date.",
                "Write an interval as start/end, e.g. 2020-01-15/2020-02-01.",
            )
    found = ISO_DATE.match(start)
    if found is None:
        return _date_advice(spec, value)
    year, month, day, time = found.groups()
    if month is not None and not 1 <= int(month) <= 12:
        return _bad(
            spec,
            "impossible_date",
            f"{shown(value)} has month {month}; months run from 01 to 12.",
            "Write the date as YYYY-MM-DD, e.g. 2020-01-13 (is the day and month swapped?).",
        )
    try:
        first = date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return _bad(
            spec,
            "impossible_date",
            f"{shown(value)} is not a day of the calendar ({year}-{month} has no day {day}).",
            "Correct the day; write dates as YYYY-MM-DD, e.g. 2020-02-28.",
        )
    if time is not None and not _time_ok(time):
        return _bad(
            spec,
            "impossible_date",
            f"{shown(value)} has an impossible time of day.",
            "Write date and time as YYYY-MM-DDThh:mm:ss with an optional zone, "
            "e.g. 2013-03-25T12:42:31+01:00.",
        )
    precision = "time" if time else "day" if day else "month" if month else "year"
    return CellVerdict(
        True, derived={"collection_date": first, "collection_date_precision": precision}
    )


def _time_ok(time: str) -> bool:
    hours, minutes = int(time[1:3]), int(time[4:6])
    seconds = int(time[7:9]) if len(time) > 8 and time[6] == ":" else 0
    return hours < 24 and minutes < 60 and seconds < 60


def _date_advice(spec: Field, value: str) -> CellVerdict:
    slash = SLASH_DATE.match(value)
    if slash is not None:
        first, second, year = (int(part) for part in slash.groups())
        readings = []
        if 1 <= second <= 12 and _valid_day(int(year), second, first):
            readings.append(f"{year:04d}-{second:02d}-{first:02d}")
        if 1 <= first <= 12 and _valid_day(int(year), first, second):
            readings.append(f"{year:04d}-{first:02d}-{second:02d}")
        if len(readings) == 1:
            order = "day/month/year" if readings[0].endswith(f"{first:02d}") else "month/day/year"
            return _bad(
                spec,
                "date_format",
                f"{shown(value)} is written {order}; MIxS dates are ISO 8601.",
                f"Write it as {readings[0]} (YYYY-MM-DD).",
            )
        if len(set(readings)) == 2:
            return _bad(
                spec,
                "date_format",
                f"{shown(value)} is ambiguous: it could be {readings[0]} or {readings[1]}.",
                "Write dates as YYYY-MM-DD so there is only one reading.",
            )
    return _bad(
        spec,
        "date_format",
        f"{shown(value)} is not an ISO 8601 date.",
        "Write YYYY-MM-DD, or YYYY-MM or YYYY when only that is known, e.g. 2020-12-31.",
    )


def _valid_day(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _check_lat_lon(spec: Field, value: str) -> CellVerdict:
    found = LAT_LON.match(value)
    if found is None:
        return _bad(
            spec,
            "lat_lon_format",
            f"{shown(value)} is not 'latitude longitude' in decimal degrees.",
            "Write two decimal numbers separated by one space, latitude first, "
            "e.g. 50.586825 6.408977 (south and west are negative).",
        )
    latitude, longitude = float(found.group(1)), float(found.group(2))
    if not -90 <= latitude <= 90:
        swapped = -90 <= longitude <= 90 and -180 <= latitude <= 180
        hint = f" If they are swapped, write {found.group(2)} {found.group(1)}." if swapped else ""
        return _bad(
            spec,
            "lat_lon_range",
            f"{shown(value)}: latitude {found.group(1)} is outside -90 to 90.",
            "Latitude comes first and lies between -90 and 90." + hint,
        )
    if not -180 <= longitude <= 180:
        return _bad(
            spec,
            "lat_lon_range",
            f"{shown(value)}: longitude {found.group(2)} is outside -180 to 180.",
            "Longitude comes second and lies between -180 and 180, e.g. 50.586825 6.408977.",
        )
    return CellVerdict(True, derived={"latitude": latitude, "longitude": longitude})


def _check_geo(spec: Field, value: str) -> CellVerdict:
    country, _, rest = value.partition(":")
    country = country.strip()
    region, _, place = rest.partition(",")
    if not country or (":" in value and not rest.strip()):
        return _bad(
            spec,
            "geo_loc_name_format",
            f"{shown(value)} does not follow 'country: region, place'.",
            "Write the country, then optionally a colon, the region, a comma and the place, "
            "e.g. USA: Maryland, Bethesda.",
        )
    return CellVerdict(
        True,
        derived={
            "geo_country": country,
            "geo_region": region.strip() or None,
            "geo_place": place.strip() or None,
        },
    )


def _check_term(spec: Field, value: str) -> CellVerdict:
    found = TERM.match(value)
    if found is None:
        loose = LOOSE_TERM.match(value)
        if loose is not None:
            fixed = f"{loose.group(1)} [{loose.group(2).upper()}:{loose.group(3)}]"
            return _bad(
                spec,
                "term_format",
                f"{shown(value)}: the term id must be PREFIX:digits.",
                f"Write it as {fixed}.",
            )
        return _bad(
            spec,
            "term_format",
            f"{shown(value)} is not 'term label [PREFIX:id]'.",
            f"Give the ontology term's label and id in brackets{_example(spec)}.",
        )
    derived = empty_derived(spec)
    if spec.name in TERM_DERIVED:
        derived[f"{spec.name}_label"] = found.group(1)
        derived[f"{spec.name}_id"] = found.group(2)
    return CellVerdict(True, derived=derived)


def _check_quantity(spec: Field, value: str) -> CellVerdict:
    found = QUANTITY.match(value)
    if found is None:
        unit = f" {spec.unit.split(',')[0].strip()}" if spec.unit else ""
        return _bad(
            spec,
            "quantity_format",
            f"{shown(value)} does not start with a number.",
            f"Write a number followed by its unit{_example(spec) or ', e.g. 12' + unit}.",
        )
    derived = empty_derived(spec)
    if spec.name == "host_age":
        derived["host_age_value"] = float(found.group(1))
        derived["host_age_unit"] = found.group(2).strip() or None
    elif spec.name == "host_body_mass_index":
        derived["host_body_mass_index"] = float(found.group(1))
        derived["host_body_mass_index_unit"] = found.group(2).strip() or None
    return CellVerdict(True, derived=derived)


def _check_integer(spec: Field, value: str) -> CellVerdict:
    if INTEGER.match(value) is None:
        return _bad(
            spec,
            "integer_format",
            f"{shown(value)} is not a whole number.",
            f"Write digits only{_example(spec) or ', e.g. 42'}.",
        )
    derived = empty_derived(spec)
    if spec.name == "host_taxid":
        derived["host_taxid"] = int(value)
    return CellVerdict(True, derived=derived)


def _check_boolean(spec: Field, value: str) -> CellVerdict:
    if value in ("yes", "no"):
        return CellVerdict(True, derived=empty_derived(spec))
    return _bad(
        spec, "boolean_format", f"{shown(value)} is not yes or no.", "Write yes or no (lower case)."
    )


def _check_enum(spec: Field, value: str) -> CellVerdict:
    if value in spec.enum:
        return _check_text(spec, value)
    lowered = {option.lower(): option for option in spec.enum}
    close = lowered.get(value.lower()) or next(
        iter(difflib.get_close_matches(value, spec.enum, n=1, cutoff=0.6)), None
    )
    allowed = "; ".join(spec.enum) if len(spec.enum) <= 12 else f"{len(spec.enum)} terms"
    fix = f"Did you mean {close}? " if close else ""
    return _bad(
        spec,
        "not_in_list",
        f"{shown(value)} is not one of the allowed values of {spec.name}.",
        f"{fix}Allowed: {allowed}.",
    )


def _check_pattern(spec: Field, value: str) -> CellVerdict:
    if spec.pattern is not None and spec.pattern.match(value) is None:
        form = f" ({spec.syntax})" if spec.syntax else ""
        return _bad(
            spec,
            "pattern",
            f"{shown(value)} does not have the form MIxS requires for {spec.name}{form}.",
            f"Write it like the standard's example{_example(spec) or ''}.",
        )
    return _check_text(spec, value)


_CHECKERS = {
    "text": _check_text,
    "date": _check_date,
    "lat_lon": _check_lat_lon,
    "geo_loc_name": _check_geo,
    "term": _check_term,
    "quantity": _check_quantity,
    "integer": _check_integer,
    "boolean": _check_boolean,
    "enum": _check_enum,
    "pattern": _check_pattern,
}
