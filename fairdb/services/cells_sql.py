"""Sample cells built by PostgreSQL: `export.cell` as SQL expressions, and downloads written by
`COPY ... TO STDOUT` a range of sample ids at a time.

A page of results and a download then carry text cells straight from the database, instead of
every sample's `attributes` and typed columns rebuilt in Python (5 ms for a page of 100 rows)
or in polars (most of a download's memory). The rules are those of `export.REBUILD`, row by
row; tests compare the two over the same samples, including formula-like and quoted text.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.functions import coalesce

from fairdb.extensions import db
from fairdb.models import Dataset, Sample, Upload
from fairdb.services import copying
from fairdb.services.formats import FORMULA_LIKE, NUMBER

Expr = ColumnElement[Any]

# Floats below this are written as Python writes an integral float (no ".0"); the cells kept
# as typed values are far smaller (checklists.bulk.NUMBER_TEXT), and a bigger one stays a float.
_INTEGRAL_BELOW = 1e15


def _number(value: Expr) -> Expr:
    """export.number_text: an integral float without '.0', else PostgreSQL's shortest exact
    text, which is Python's repr for every number of the NUMBER_TEXT shape."""
    integral = and_(value == func.trunc(value), func.abs(value) < _INTEGRAL_BELOW)
    return case((integral, cast(cast(value, BigInteger), Text)), else_=cast(value, Text))


def _term(name: str) -> Expr:
    label, term = getattr(Sample, f"{name}_label"), getattr(Sample, f"{name}_id")
    return case((term.is_not(None), label + " [" + term + "]"), else_=label)


def _measure(value_column: str, unit_column: str) -> Expr:
    value, unit = getattr(Sample, value_column), getattr(Sample, unit_column)
    return case((value.is_not(None), _number(value) + coalesce(literal(" ") + unit, "")))


def _date() -> Expr:
    when, precision = Sample.collection_date, Sample.collection_date_precision
    shapes = {"day": "YYYY-MM-DD", "month": "YYYY-MM", "year": "YYYY"}
    return case(*[(precision == p, func.to_char(when, shape)) for p, shape in shapes.items()])


def _place() -> Expr:
    country, region, place = Sample.geo_country, Sample.geo_region, Sample.geo_place
    return case(
        (country.is_(None), None),
        (region.is_not(None), country + ": " + region + coalesce(literal(", ") + place, "")),
        (place.is_(None), country),
    )


def _coordinates() -> Expr:
    latitude, longitude = _text("latitude"), _text("longitude")
    both = and_(latitude.is_not(None), longitude.is_not(None))
    return case((both, _number(latitude) + " " + _number(longitude)))


def _text(name: str) -> Expr:
    return getattr(Sample, name)  # type: ignore[no-any-return]


REBUILD: dict[str, Callable[[], Expr]] = {
    **{
        name: functools.partial(_text, name)
        for name in ("samp_name", "seq_meth", "host_subject_id", "host_sex", "host_disease_stat")
    },
    **{
        name: functools.partial(_term, name)
        for name in ("env_broad_scale", "env_local_scale", "env_medium", "host_body_site")
    },
    "collection_date": _date,
    "geo_loc_name": _place,
    "lat_lon": _coordinates,
    "host_age": functools.partial(_measure, "host_age_value", "host_age_unit"),
    "host_body_mass_index": functools.partial(
        _measure, "host_body_mass_index", "host_body_mass_index_unit"
    ),
    "host_taxid": lambda: cast(Sample.host_taxid, Text),
}


@functools.lru_cache(maxsize=1024)
def cell(name: str) -> Expr:
    """export.cell of field `name` (never null): the sample's own text if kept, else its
    upload's shared value, else rebuilt from typed columns. The select must join Upload
    (`joined`) for the shared values.

    Given as SQL text, made once per field: building the expression tree for the cells of a
    page, and its cache key, took SQLAlchemy longer than PostgreSQL takes to run the page."""
    expression = _cell(name).compile(
        dialect=postgresql.dialect(paramstyle="named"),  # type: ignore[no-untyped-call]
        compile_kwargs={"literal_binds": True},
    )
    return literal_column(str(expression), Text)


def _cell(name: str) -> Expr:
    own = Sample.attributes
    rebuild = REBUILD.get(name)
    fallback = [Upload.shared_cells[name].astext, *([rebuild()] if rebuild else []), literal("")]
    return case(
        (own.has_key(name), coalesce(own[name].astext, "")),
        else_=coalesce(*fallback),
    )


def joined(statement: Select[Any]) -> Select[Any]:
    """`statement` over Sample with each sample's upload beside it, for `cell`."""
    return statement.outerjoin(Upload, Upload.id == Sample.upload_id)


# The first characters formula-like text can start with, as code points: most cells are let
# through on this comparison alone, before any regular expression.
_FIRST = tuple(ord(character) for character in "=+-@\t\r'")


def escaped(value: Expr) -> Expr:
    """formats.escape_cell in SQL: formula-like text gets a leading apostrophe, numbers not.
    The patterns are the same strings (PostgreSQL's regular expressions read them alike)."""
    risky = and_(value.regexp_match(FORMULA_LIKE.pattern), ~value.regexp_match(NUMBER.pattern))
    maybe = func.ascii(value).in_(_FIRST)
    return case((maybe, case((risky, "'" + value), else_=value)), else_=value)


# A batch's first and last sample id, bound anew for each batch of one compiled statement
# (compiling the statement took 15 ms, longer than PostgreSQL took for many of its batches).
_LOW = bindparam("batch_low", 0, type_=BigInteger)
_HIGH = bindparam("batch_high", 0, type_=BigInteger)


def _id_ranges(statement: Select[Any], size: int) -> Iterator[dict[str, int]]:
    """The parameters of batches that split `statement`'s samples into ranges of `size` ids
    in order, so a batch holds at most `size` samples: each is an index range scan, and no
    query is spent finding where a batch of exactly `size` samples ends (that took as long as
    writing its cells)."""
    # Batches are small index scans: parallel workers took longer to start than the scan.
    db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    ids = statement.with_only_columns(Sample.id).limit(1)
    low = db.session.scalar(ids.order_by(Sample.id))
    high = db.session.scalar(ids.order_by(Sample.id.desc()))
    if low is None or high is None:
        return
    for start in range(low, high + 1, size):
        yield {"batch_low": start, "batch_high": min(start + size - 1, high)}


def _leading(with_dataset: bool) -> list[Any]:
    return [Sample.dataset_id, Dataset.title] if with_dataset else []


def _batch(statement: Select[Any], with_dataset: bool, columns: list[str]) -> Select[Any]:
    """A batch's rows in id order (the ids between the parameters of `_id_ranges`): the sample
    id, then (with_dataset) its dataset's id and title as l0 and l1, and the cells as c0,
    c1, ..."""
    labelled = [value.label(f"l{n}") for n, value in enumerate(_leading(with_dataset))]
    labelled += [cell(name).label(f"c{number}") for number, name in enumerate(columns)]
    chosen: Select[Any] = statement.with_only_columns(
        Sample.id.label("sample_id"), *labelled, maintain_column_froms=True
    )
    if with_dataset:
        chosen = chosen.join(Dataset, Dataset.id == Sample.dataset_id)
    return joined(chosen).where(Sample.id.between(_LOW, _HIGH)).order_by(Sample.id)


def rows(
    statement: Select[Any], with_dataset: bool, columns: list[str], size: int = 5_000
) -> Iterator[tuple[Any, ...]]:
    """The samples `statement` selects (a select over Sample, not ordered), in id order, as
    tuples of (with_dataset) the dataset's id and title and the text cells of `columns`
    (unescaped)."""
    batch = _batch(statement, with_dataset, columns)
    for bounds in _id_ranges(statement, size):
        for row in db.session.execute(batch, bounds):
            yield tuple(row[1:])


def delimited(
    statement: Select[Any],
    with_dataset: bool,
    columns: list[str],
    header: list[str],
    separator: str,
    size: int = 32_768,
) -> Iterator[bytes]:
    """`rows` as CSV (or TSV) bytes written by PostgreSQL: the header, then a COPY per batch.
    Text is escaped against formula injection; an empty cell is written empty, not as ""."""
    line = io.StringIO()
    csv.writer(line, delimiter=separator, lineterminator="\n").writerow(header)
    yield line.getvalue().encode()
    # OFFSET 0 keeps the cells computed once each: merged into the outer select, each would
    # be computed again for every place escaping refers to it.
    inner = _batch(statement, with_dataset, columns).offset(0).subquery("batch")
    chosen = select(
        *[inner.c[f"l{n}"] for n in range(len(_leading(with_dataset)))],
        *[func.nullif(escaped(inner.c[f"c{n}"]), "") for n in range(len(columns))],
    ).order_by(inner.c.sample_id)
    sql, parameters = copying.compiled(chosen)
    delimiter = "E'\\t'" if separator == "\t" else "','"
    for bounds in _id_ranges(statement, size):
        yield copying.copied(sql, {**parameters, **bounds}, f"FORMAT csv, DELIMITER {delimiter}")
