"""Sample search across every dataset the user may read: filters, facet counts, keyset pages.

A query is parsed once from the URL (so a search is shareable) into `SampleQuery`; `where()`
turns it into one WHERE clause that always includes the access policy's `readable_samples`.
Facet counts come from one GROUPING SETS pass; pages are keyset pages on (sort key, id) in every
order, so the millionth row costs what the first does (orders other than upload order read the
indexes of search_orders).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    true,
    tuple_,
    union_all,
)

from fairdb.extensions import db
from fairdb.models import (
    Abundance,
    Dataset,
    Feature,
    Sample,
    SampleFacet,
    SampleTotal,
    SearchTerm,
)
from fairdb.models.sample import age_in_years
from fairdb.services import access, cells_sql, search_orders

# Facets: URL parameter -> (label, column). Counts are shown for each.
FACETS: dict[str, tuple[str, Any]] = {
    "dataset": ("Dataset", Sample.dataset_id),
    "country": ("Country", Sample.geo_country),
    "body_site": ("Body site", Sample.host_body_site_label),
    "sex": ("Host sex", Sample.host_sex),
    "disease": ("Disease status", Sample.host_disease_stat),
    "seq_meth": ("Sequencing method", Sample.seq_meth),
}
FACET_TOP = 30

# Sort orders: name -> (key, descending). Upload order reads the primary key, the others the
# index search_orders builds on the very same key; ties go by id in the order's direction, and
# samples without the key come last.
SORTS: dict[str, tuple[Any, bool]] = {
    "": (Sample.id, False),
    "name": (search_orders.KEYS["name"], False),
    "date": (search_orders.KEYS["date"], False),
    "-date": (search_orders.KEYS["date"], True),
    "age": (search_orders.KEYS["age"], False),
}
SORT_LABELS = {
    "": "Upload order",
    "name": "Sample name",
    "date": "Collection date, oldest first",
    "-date": "Collection date, newest first",
    "age": "Host age, youngest first",
}

DEFAULT_COLUMNS = (
    "samp_name",
    "geo_loc_name",
    "collection_date",
    "host_sex",
    "host_age",
    "host_body_site",
    "host_disease_stat",
    "seq_meth",
)
PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
WORD = re.compile(r"[\w.:-]+", re.UNICODE)


class QueryError(ValueError):
    """A URL parameter that cannot be read, with the fix."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


@dataclass
class SampleQuery:
    text: str = ""
    facets: dict[str, list[str]] = field(default_factory=dict)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    age_min: float | None = None
    age_max: float | None = None
    taxon: str = ""
    taxon_min: float = 0.0  # percent of the sample's total
    sort: str = ""
    columns: list[str] = field(default_factory=lambda: list(DEFAULT_COLUMNS))
    limit: int = PAGE_SIZE
    cursor: tuple[Any, int] | None = None
    # Dictionary values found per query word (looked up once per request).
    matches: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def words(self) -> list[str]:
        return WORD.findall(self.text.lower())[:10]


def _date(parameter: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise QueryError(parameter, f"{value!r} is not a date: write it as 2021-06-30.") from error


def _number(parameter: str, value: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError as error:
        raise QueryError(parameter, f"{value!r} is not a number.") from error
    if not low <= number <= high:
        raise QueryError(parameter, f"{value!r} is outside {low:g} to {high:g}.")
    return number


def parse(args: Mapping[str, Any], *, known_columns: set[str]) -> SampleQuery:
    """A query from URL parameters (werkzeug MultiDict or a plain mapping of lists)."""

    def values(name: str) -> list[str]:
        getter = getattr(args, "getlist", None)
        raw = getter(name) if getter else args.get(name, [])
        return [v.strip() for v in (raw if isinstance(raw, list) else [raw]) if v and v.strip()]

    def one(name: str) -> str:
        found = values(name)
        return found[0] if found else ""

    query = SampleQuery(text=one("q")[:500])
    for name in FACETS:
        chosen = values(name)
        if name == "dataset":
            for value in chosen:
                if not value.isdigit():
                    raise QueryError("dataset", f"{value!r} is not a dataset number.")
        if chosen:
            query.facets[name] = chosen[:100]
    if one("date_from"):
        query.date_from = _date("date_from", one("date_from"))
    if one("date_to"):
        query.date_to = _date("date_to", one("date_to"))
    if one("age_min"):
        query.age_min = _number("age_min", one("age_min"), 0, 150)
    if one("age_max"):
        query.age_max = _number("age_max", one("age_max"), 0, 150)
    query.taxon = one("taxon")[:200]
    if one("taxon_min"):
        query.taxon_min = _number("taxon_min", one("taxon_min"), 0, 100)
    query.sort = one("sort")
    if query.sort not in SORTS:
        raise QueryError("sort", f"choose one of {', '.join(repr(s) for s in SORTS)}.")
    columns = values("cols")
    if columns:
        unknown = [c for c in columns if c not in known_columns]
        if unknown:
            raise QueryError("cols", f"unknown column {unknown[0]!r}.")
        # One order whichever way the columns were chosen: the default ones first, as shown
        # before any choice, then the others by name.
        rank = {name: i for i, name in enumerate(DEFAULT_COLUMNS)}
        chosen = sorted(set(columns) - {"samp_name"}, key=lambda c: (rank.get(c, len(rank)), c))
        query.columns = ["samp_name", *chosen][:40]
    if one("limit"):
        query.limit = int(_number("limit", one("limit"), 1, MAX_PAGE_SIZE))
    if one("cursor"):
        query.cursor = decode_cursor(one("cursor"))
    return query


def encode_cursor(key: Any, sample_id: int) -> str:
    if isinstance(key, dt.date):
        key = {"d": key.isoformat()}
    raw = json.dumps([key, sample_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        key, sample_id = json.loads(raw)
        if isinstance(key, dict):
            key = dt.date.fromisoformat(key["d"])
        if not isinstance(sample_id, int) or isinstance(key, (list, dict)):
            raise TypeError("cursor shape")
    except (ValueError, TypeError, KeyError) as error:
        raise QueryError(
            "cursor", "this page link is damaged: start again from the first page."
        ) from error
    return key, sample_id


def _taxon_samples(taxon: str, share: float) -> Select[Any]:
    """Ids of samples in which the taxon (at any rank) makes up at least `share` percent of
    the sample's total, in any abundance table (features' `taxa` GIN index finds them)."""
    return (
        select(Abundance.sample_id)
        .join(Feature, Feature.id == Abundance.feature_id)
        .join(
            SampleTotal,
            and_(
                SampleTotal.table_id == Feature.table_id,
                SampleTotal.sample_id == Abundance.sample_id,
            ),
        )
        .where(Feature.taxa.contains([taxon]))
        .group_by(Abundance.sample_id, SampleTotal.total)
        .having(func.sum(Abundance.value) >= share / 100.0 * SampleTotal.total)
    )


def _matching_values(word: str) -> dict[str, list[str]]:
    """Values of the searchable text columns with a word starting with each part of `word`
    (the dictionary's GIN index answers this; it holds distinct values, not samples)."""
    parts = re.findall(r"\w+", word)
    if not parts:
        return {}
    tsquery = " & ".join(f"{part}:*" for part in parts)
    found: dict[str, list[str]] = {}
    rows = db.session.execute(
        select(SearchTerm.field, SearchTerm.value).where(
            SearchTerm.document.op("@@")(func.to_tsquery("simple", tsquery))
        )
    )
    for name, value in rows:
        found.setdefault(name, []).append(value)
    return found


def _word_clause(word: str, values: dict[str, list[str]]) -> ColumnElement[bool]:
    """A sample matches a word through a value of its typed text columns that the dictionary
    matched; a word no value matches is looked for as the start of a sample or subject name."""
    if values:
        return or_(*[getattr(Sample, name).in_(found) for name, found in values.items()])
    prefix = re.sub(r"([%_\\])", r"\\\1", word) + "%"
    return or_(Sample.samp_name.ilike(prefix), Sample.host_subject_id.ilike(prefix))


SAMPLE_COLUMNS = {name: column for name, (_, column) in FACETS.items()}
FACET_TABLE_COLUMNS = {
    "dataset": SampleFacet.dataset_id,
    "country": SampleFacet.geo_country,
    "body_site": SampleFacet.host_body_site_label,
    "sex": SampleFacet.host_sex,
    "disease": SampleFacet.host_disease_stat,
    "seq_meth": SampleFacet.seq_meth,
}


def _facet_conditions(
    query: SampleQuery, skip: str | None, columns: dict[str, Any]
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for name, chosen in query.facets.items():
        if name == skip:
            continue
        column = columns[name]
        if name == "dataset":
            conditions.append(column.in_([int(v) for v in chosen]))
            continue
        wanted = [v for v in chosen if v != NOT_GIVEN]
        parts = [column.in_(wanted)] if wanted else []
        if NOT_GIVEN in chosen:
            parts.append(column.is_(None))
        conditions.append(or_(*parts) if parts else false())
    return conditions


def where(
    user: Any, query: SampleQuery, *, skip: str | None = None, walked: bool = False
) -> ColumnElement[bool]:
    """Every condition of the query (but the facet `skip`, for its own counts), always with
    the access policy (`walked`: see access._readable_ids)."""
    readable = access.readable_samples(user, walked=walked)
    conditions = [readable, *_facet_conditions(query, skip, SAMPLE_COLUMNS)]
    if query.date_from is not None:
        conditions.append(Sample.collection_date >= query.date_from)
    if query.date_to is not None:
        conditions.append(Sample.collection_date <= query.date_to)
    if query.age_min is not None:
        conditions.append(age_in_years >= query.age_min)
    if query.age_max is not None:
        conditions.append(age_in_years <= query.age_max)
    for word, found in zip(query.words(), _word_matches(query), strict=True):
        conditions.append(_word_clause(word, found))
    if query.taxon:
        conditions.append(Sample.id.in_(_taxon_samples(query.taxon, query.taxon_min)))
    return and_(true(), *conditions)


NOT_GIVEN = "(not given)"


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    chosen: bool


# Typed columns the per-upload counts hold, by sample column name.
COUNTED = {
    "geo_country": SampleFacet.geo_country,
    "host_body_site_label": SampleFacet.host_body_site_label,
    "host_sex": SampleFacet.host_sex,
    "host_disease_stat": SampleFacet.host_disease_stat,
    "seq_meth": SampleFacet.seq_meth,
}


def _word_matches(query: SampleQuery) -> list[dict[str, list[str]]]:
    for word in query.words():
        if word not in query.matches:
            query.matches[word] = _matching_values(word)
    return [query.matches[word] for word in query.words()]


def _only_facets(query: SampleQuery) -> bool:
    """Whether the per-upload counts can answer: no ranges or taxon, and every word matched
    values of columns they hold (not a name, a place or a medium)."""
    if (
        query.taxon
        or query.date_from
        or query.date_to
        or query.age_min is not None
        or query.age_max is not None
    ):
        return False
    return all(found and set(found) <= set(COUNTED) for found in _word_matches(query))


def _counted_words(query: SampleQuery) -> list[ColumnElement[bool]]:
    """The words' conditions on the per-upload counts (see _only_facets)."""
    return [
        or_(*[COUNTED[name].in_(values) for name, values in found.items()])
        for found in _word_matches(query)
    ]


def _counting(user: Any, query: SampleQuery) -> tuple[Any, Any, dict[str, Any], Any]:
    """Where facet counts come from: the small per-upload counts when only facets are chosen,
    else the samples themselves. (from clause, count, facet columns, WHERE for a skipped facet)"""
    if _only_facets(query):
        source = SampleFacet.__table__
        columns = FACET_TABLE_COLUMNS

        def condition(skip: str | None) -> ColumnElement[bool]:
            return and_(
                access.readable_facets(user),
                *_facet_conditions(query, skip, columns),
                *_counted_words(query),
            )

        return source, func.coalesce(func.sum(SampleFacet.samples), 0), columns, condition
    source = Sample.__table__

    def sample_condition(skip: str | None) -> ColumnElement[bool]:
        return where(user, query, skip=skip)

    return source, func.count(), SAMPLE_COLUMNS, sample_condition


def facet_counts(user: Any, query: SampleQuery) -> tuple[int, dict[str, list[FacetValue]]]:
    """The number of matching samples and, per facet, its values with counts. A facet's counts
    ignore that facet's own choice (so the other values stay reachable), as in CKAN or Qiita."""
    from_clause, count, columns, condition = _counting(user, query)
    chosen_facets = [name for name in FACETS if name in query.facets]
    total = 0
    counts: dict[str, list[tuple[Any, int]]] = {name: [] for name in FACETS}
    # One pass for the facets without a choice (and the total); one per chosen facet.
    free = [name for name in FACETS if name not in chosen_facets]
    sets = [columns[name] for name in free]
    base = (
        select(*sets, *[func.grouping(c) for c in sets], count)
        .select_from(from_clause)
        .where(condition(None))
        .group_by(func.grouping_sets(*[tuple_(c) for c in sets], tuple_()))
    )
    for row in db.session.execute(base):
        keys, flags, n = row[: len(sets)], row[len(sets) : 2 * len(sets)], int(row[-1])
        grouped = [name for name, flag in zip(free, flags, strict=True) if flag == 0]
        if not grouped:
            total = n
            continue
        name = grouped[0]
        counts[name].append((keys[free.index(name)], n))
    for name in chosen_facets:
        column = columns[name]
        rows = db.session.execute(
            select(column, count).select_from(from_clause).where(condition(name)).group_by(column)
        )
        counts[name] = [(value, int(n)) for value, n in rows if n]
    titles: dict[int, str] = {}
    dataset_ids = [v for v, _ in counts["dataset"] if v is not None] + [
        int(v) for v in query.facets.get("dataset", [])
    ]
    if dataset_ids:
        titles = dict(
            db.session.execute(
                select(Dataset.id, Dataset.title).where(Dataset.id.in_(dataset_ids))
            ).all()
        )
    out: dict[str, list[FacetValue]] = {}
    for name in FACETS:
        chosen = set(query.facets.get(name, []))
        items = sorted(counts[name], key=lambda item: (-item[1], str(item[0])))[:FACET_TOP]
        values = []
        for value, n in items:
            key = NOT_GIVEN if value is None else str(value)
            label = titles.get(value, key) if name == "dataset" else key
            values.append(FacetValue(key, label, n, key in chosen))
        shown = {v.value for v in values}
        for key in chosen - shown:  # a choice with no match stays visible, to be undone
            label = titles.get(int(key), key) if name == "dataset" and key.isdigit() else key
            values.append(FacetValue(key, label, 0, True))
        out[name] = values
    return total, out


def _in_id_order(user: Any, statement: Select[Any], query: SampleQuery) -> Select[Any]:
    """The statement in upload order after its cursor: one range of the primary key, bounded by
    the ids of the uploads the user may read (access.readable_id_range)."""
    after = bindparam("cursor_id", query.cursor[1] if query.cursor else 0, BigInteger)
    statement = statement.where(Sample.id > after)
    bounds = access.readable_id_range(user, after)
    if bounds is not None:
        statement = statement.where(Sample.id.between(*bounds))
    return statement.order_by(Sample.id)


def _in_key_order(statement: Select[Any], query: SampleQuery, part: str) -> list[Select[Any]]:
    """One part of a keyed order after the query's cursor: the samples with the key ("keyed",
    past the cursor's (key, id)) or those without it ("nulls", which come last). Each is split
    at the id its order's index reaches (bind parameter "order_upto", see search_orders):
    below, one range of the index, read forwards (backwards for a descending order); above,
    the samples uploaded since the index was built, sorted for the page."""
    column, descending = SORTS[query.sort]
    order = [column.desc(), Sample.id.desc()] if descending else [column.asc(), Sample.id.asc()]
    value, last_id = query.cursor if query.cursor is not None else (None, None)
    last = bindparam("cursor_id", last_id, BigInteger)
    if part == "keyed" and value is None:
        condition = column.is_not(None)
    elif part == "keyed":
        here = tuple_(bindparam("cursor_key", value, column.type), last)
        keys = tuple_(column, Sample.id)
        condition = keys < here if descending else keys > here
    elif query.cursor is None:
        condition = column.is_(None)
    else:
        condition = and_(column.is_(None), Sample.id < last if descending else Sample.id > last)
    upto = bindparam("order_upto", 0, BigInteger)
    return [
        statement.where(condition, side).order_by(*order)
        for side in (Sample.id <= upto, Sample.id > upto)
    ]


def _cursor_kind(query: SampleQuery) -> tuple[str, dict[str, Any]]:
    """The kind of the query's cursor (statements differ by it) and its bind parameters."""
    if query.cursor is None:
        return "none", {}
    value, last_id = query.cursor
    if query.sort == "":
        return "id", {"cursor_id": last_id}
    if value is None:
        return "past keys", {"cursor_id": last_id}
    return "key", {"cursor_id": last_id, "cursor_key": value}


@dataclass
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None


def _page_order(query: SampleQuery, key: Any, sample_id: Any) -> list[Any]:
    """The query's order over the columns of the page's inner select."""
    if query.sort == "":
        return [sample_id]
    if SORTS[query.sort][1]:
        return [key.desc().nulls_last(), sample_id.desc()]
    return [key.asc().nulls_last(), sample_id.asc()]


# Page statements kept per process by shape (user, query but its cursor): building one and
# its cache key took SQLAlchemy about as long as PostgreSQL takes to run it; a client walking
# pages of a search runs the same statement with each cursor.
_PAGE_STATEMENTS: dict[tuple[Any, ...], Select[Any]] = {}
_PAGE_STATEMENTS_SIZE = 128
_PAGE_STATEMENTS_LOCK = threading.Lock()


def _page_statement(user: Any, query: SampleQuery, part: str) -> Select[Any]:
    """The page's samples are found over ids and sort keys only, then their cells are built by
    PostgreSQL (cells_sql) for those rows alone."""
    sort_key = SORTS[query.sort][0]
    found_ids = select(Sample.id.label("id"), sort_key.label("sort_key")).select_from(Sample)
    found_ids = found_ids.where(where(user, query))
    if part == "ids":
        inner = _in_id_order(user, found_ids, query).limit(query.limit + 1).subquery("found")
    else:
        parts = [p.limit(query.limit + 1) for p in _in_key_order(found_ids, query, part)]
        inner = union_all(*parts).subquery("found")
    cells = [cells_sql.cell(name) for name in query.columns]
    return (
        cells_sql.joined(
            select(inner.c.id, Sample.dataset_id, Dataset.title, Sample.samp_name, *cells)
            .add_columns(inner.c.sort_key)
            .select_from(inner)
            .join(Sample, Sample.id == inner.c.id)
            .join(Dataset, Dataset.id == Sample.dataset_id)
        )
        .order_by(*_page_order(query, inner.c.sort_key, inner.c.id))
        .limit(query.limit + 1)
    )


def _found(user: Any, query: SampleQuery, part: str, upto: int) -> list[Any]:
    """The rows of one part of a page (at most limit + 1), through the statement kept for its
    shape: user, query but its cursor, the cursor's kind, the part."""
    cursor_kind, parameters = _cursor_kind(query)
    values = {**query.__dict__, "cursor": cursor_kind, "part": part}
    shape = (access.clause_key(user), json.dumps(values, sort_keys=True, default=str))
    statement = _PAGE_STATEMENTS.get(shape)
    if statement is None:
        statement = _page_statement(user, query, part)
        with _PAGE_STATEMENTS_LOCK:
            if len(_PAGE_STATEMENTS) >= _PAGE_STATEMENTS_SIZE:
                _PAGE_STATEMENTS.clear()
            _PAGE_STATEMENTS[shape] = statement
    parameters["order_upto"] = upto
    return list(db.session.connection().execute(statement, parameters).all())


def page(user: Any, query: SampleQuery) -> Page:
    """One page of results and the cursor of the next. In a keyed order the samples without
    the key are read only when those with it run out: a page never waits for the first
    readable sample without a key when it does not show one."""
    if query.sort == "":
        found = _found(user, query, "ids", 0)
    else:
        upto = search_orders.covered().get(query.sort.lstrip("-"), 0)
        past_keys = query.cursor is not None and query.cursor[0] is None
        found = [] if past_keys else _found(user, query, "keyed", upto)
        if len(found) <= query.limit:
            nulls = query if past_keys else replace(query, cursor=None)
            found += _found(user, nulls, "nulls", upto)[: query.limit + 1 - len(found)]
    more = len(found) > query.limit
    found = found[: query.limit]
    columns, last_cell = query.columns, 4 + len(query.columns)
    rows = [
        {
            "id": row[0],
            "dataset_id": row[1],
            "dataset_title": row[2],
            "samp_name": row[3],
            "cells": dict(zip(columns, row[4:last_cell], strict=True)),
        }
        for row in found
    ]
    next_cursor = None
    if more and found:
        last = found[-1]
        next_cursor = encode_cursor(None if query.sort == "" else last[-1], last[0])
    return Page(rows, next_cursor)


def rows_for_download(user: Any, query: SampleQuery, batch: int = 5000) -> Iterator[list[Any]]:
    """Every matching sample in the query's order as [dataset id, dataset title, cells...],
    streamed in keyset batches (no long-held cursor, constant memory)."""
    cursor = None
    while True:
        batch_query = SampleQuery(**{**query.__dict__, "limit": batch, "cursor": cursor})
        result = page(user, batch_query)
        for row in result.rows:
            yield [row["dataset_id"], row["dataset_title"], *row["cells"].values()]
        if result.next_cursor is None:
            return
        cursor = decode_cursor(result.next_cursor)


def matching(user: Any, query: SampleQuery) -> Select[Any]:
    """The samples the query finds that the user may see, unordered (for cells_sql)."""
    return select(Sample.id).select_from(Sample).where(where(user, query, walked=True))
