"""Pages in name, date and age order: their indexes are built after uploads, not during them,
and a page merges the indexed samples with those uploaded since; it must not lose, repeat or
misplace any sample on either side of that line."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text

from fairdb import create_app
from fairdb.extensions import db
from fairdb.models import Privacy, Sample, SearchOrder
from fairdb.services import accounts, copying, datasets, ingest, search, search_orders
from tests.conftest import app_config, sign_in
from tests.uploads_helpers import csv_bytes, rows, upload

# (name, collection_date, host_age): ties, missing values and every unit the sort reads.
FIRST = [
    ("A-k", "2021-03-01", "30 year"),
    ("A-b", "2019-07-15", "6 month"),
    ("A-x", "not collected", "30 year"),
    ("A-a", "2021-03-01", ""),
    ("A-q", "2020-01", "52 week"),
    ("A-c", "2019-07-15", "400 day"),
    ("A-m", "not collected", ""),
    ("A-d", "2022", "2 year"),
]
LATER = [
    ("B-a", "2021-03-01", "30 year"),
    ("A-j", "2019-07-15", ""),
    ("B-z", "not collected", "6 month"),
    ("A-kk", "2021-03-01", "1 year"),
    ("B-m", "2018-12-24", "30 year"),
    ("B-n", "not collected", ""),
]
YEARS = {"year": 1.0, "month": 1 / 12, "week": 7 / 365.25, "day": 1 / 365.25}


def _age(text_: str) -> float | None:
    if not text_:
        return None
    value, unit = text_.split()
    return float(value) * YEARS[unit] if unit != "year" else float(value)


def _date(text_: str) -> str | None:
    if text_ == "not collected":
        return None
    return (text_ + "-01-01")[:10] if len(text_) == 4 else (text_ + "-01")[:10]


def _store(create_dataset: Any, folder: Path, owner: Any, records: list[tuple[str, str, str]]):
    folder.mkdir()
    dataset = create_dataset(owner, title=folder.name, privacy=Privacy.PUBLIC)
    path = folder / "samples.csv"
    table = rows(len(records))
    for row, (name, date, age) in zip(table, records, strict=True):
        row.update(samp_name=name, collection_date=date, host_age=age)
    path.write_bytes(csv_bytes(table))
    result = ingest.ingest_samples(dataset, path, "samples.csv", owner)
    assert result.ok, result.report()
    db.session.commit()
    return dataset


def _expected(sort: str, records: list[tuple[int, str, str, str]]) -> list[str]:
    """The order a researcher asked for, worked out here: key ascending (or descending for
    "-date"), ties by upload order in the same direction, samples without the key last."""
    key = {
        "name": lambda r: r[1],
        "date": lambda r: _date(r[2]),
        "-date": lambda r: _date(r[2]),
        "age": lambda r: _age(r[3]),
    }[sort]
    with_key = [r for r in records if key(r) is not None]
    without = [r for r in records if key(r) is None]
    descending = sort.startswith("-")
    with_key.sort(key=lambda r: (key(r), r[0]), reverse=descending)
    without.sort(key=lambda r: r[0], reverse=descending)
    return [r[1] for r in with_key + without]


def _walk(client: Any, sort: str, limit: int) -> list[str]:
    seen: list[str] = []
    url = f"/samples?limit={limit}&sort={sort}&cols=samp_name"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        seen += re.findall(r'/samples/((?:A|B)-[a-z]+)"', html)
        match = re.search(r'href="([^"]+)" rel="next"', html)
        url = match.group(1).replace("&amp;", "&") if match else ""
    return seen


@pytest.fixture
def split_catalogue(app, create_dataset, create_user, tmp_path):
    """FIRST is indexed (the rebuild ran after it), LATER is not yet."""
    owner = create_user("owner@example.org")
    _store(create_dataset, tmp_path / "first", owner, FIRST)
    built = search_orders.refresh(db.session.connection(), concurrently=False)
    assert {b.order for b in built} == {"name", "date", "age"}
    _store(create_dataset, tmp_path / "later", owner, LATER)
    ids = {name: id_ for name, id_ in db.session.execute(select(Sample.samp_name, Sample.id))}
    records = [(ids[name], name, date, age) for name, date, age in FIRST + LATER]
    return {"owner": owner, "records": records, "upto": max(ids[name] for name, *_ in FIRST)}


@pytest.mark.parametrize("sort", ["name", "date", "-date", "age"])
def test_pages_across_the_indexed_line_follow_the_order_exactly(client, split_catalogue, sort):
    covered = search_orders.covered()
    assert covered[sort.lstrip("-")] == split_catalogue["upto"]
    expected = _expected(sort, split_catalogue["records"])
    for limit in (1, 2, 3, 5, 50):
        assert _walk(client, sort, limit) == expected, (sort, limit)


@pytest.mark.parametrize("sort", ["name", "date", "-date", "age"])
@pytest.mark.parametrize(
    ("cursor", "part"),
    [("none", "keyed"), ("none", "nulls"), ("key", "keyed"), ("past keys", "nulls")],
)
def test_the_indexed_part_of_a_page_is_read_from_its_index(
    app, split_catalogue, sort, cursor, part
):
    """With sorting and table scans priced out, PostgreSQL still finds a plan that reads the
    order's index. Both come from search_orders.KEYS, but CREATE INDEX writes the key with
    literal values and a page's values are bound by psycopg2: if the two texts ever parsed to
    different expressions, every such page would sort again."""
    keys = {"name": "A-c", "date": "2020-01-01", "-date": "2020-01-01", "age": 1.0}
    value = {"none": None, "key": (keys[sort], 1), "past keys": (None, 1)}[cursor]
    query = search.SampleQuery(sort=sort, cursor=value, columns=["samp_name"], limit=10)
    statement = search._page_statement(split_catalogue["owner"], query, part)
    parameters = search._cursor_kind(query)[1]
    parameters["order_upto"] = search_orders.covered()[sort.lstrip("-")]
    sql, bound = copying.compiled(statement)
    sql = copying.raw_connection().cursor().mogrify(sql, {**bound, **parameters}).decode()
    db.session.execute(text("SET LOCAL enable_sort = off"))
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = db.session.execute(text("EXPLAIN (FORMAT JSON) " + sql)).scalar_one()[0]["Plan"]
    index = db.session.scalar(
        select(SearchOrder.index_name).where(SearchOrder.name == sort.lstrip("-"))
    )
    reads = list(_index_reads(plan, index, in_part=False, sorted_above=False))
    assert reads, plan
    assert not any(reads), f"rows read from {index} were sorted again: {plan}"


def _index_reads(node: dict[str, Any], index: str, *, in_part: bool, sorted_above: bool) -> Any:
    """For each scan of `index` in the plan: whether a sort inside its part of the page (below
    the Append that merges the parts) reorders what it read."""
    if node.get("Index Name") == index:
        yield sorted_above
    sorting = sorted_above or (in_part and "Sort" in node["Node Type"])
    for child in node.get("Plans", []):
        yield from _index_reads(
            child, index, in_part=in_part or "Append" in node["Node Type"], sorted_above=sorting
        )


def test_an_upload_far_past_the_index_rebuilds_it_and_drops_the_old(
    app, client, create_dataset, create_user, tmp_path
):
    owner = create_user("owner@example.org")
    _store(create_dataset, tmp_path / "first", owner, FIRST)
    search_orders.refresh(db.session.connection(), concurrently=False)
    before = set(_order_indexes())
    assert len(before) == 3

    app.config["SEARCH_ORDER_REFRESH_AFTER"] = len(LATER) - 1
    dataset = create_dataset(owner, title="later", privacy=Privacy.PUBLIC)
    table = rows(len(LATER))
    for row, (name, date, age) in zip(table, LATER, strict=True):
        row.update(samp_name=name, collection_date=date, host_age=age)
    sign_in(client, owner.email)
    assert upload(client, dataset.id, csv_bytes(table)).status_code == 303

    after = set(_order_indexes())
    newest = db.session.scalar(select(db.func.max(Sample.id)))
    assert len(after) == 3
    assert not after & before
    assert search_orders.covered() == {"name": newest, "date": newest, "age": newest}
    # Fewer new samples than the setting allows: nothing is rebuilt.
    app.config["SEARCH_ORDER_REFRESH_AFTER"] = 100
    assert upload(client, dataset.id, csv_bytes(rows(3, prefix="C"))).status_code == 303
    assert set(_order_indexes()) == after


def test_a_rebuild_clears_indexes_left_by_one_that_stopped(
    app, create_dataset, create_user, tmp_path
):
    owner = create_user("owner@example.org")
    _store(create_dataset, tmp_path / "first", owner, FIRST)
    db.session.execute(text("CREATE INDEX ix_samples_order_name_1 ON samples (samp_name, id)"))
    search_orders.refresh(db.session.connection(), concurrently=False)
    names = _order_indexes()
    assert "ix_samples_order_name_1" not in names
    assert len(names) == 3


def _order_indexes() -> list[str]:
    return list(
        db.session.scalars(
            text(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'samples'"
                " AND indexname LIKE 'ix\\_samples\\_order\\_%'"
            )
        )
    )


def test_background_rebuild_and_the_command_build_valid_indexes_concurrently(
    make_database, tmp_path
):
    """The production paths, on a database of their own: CREATE INDEX CONCURRENTLY cannot run
    inside the tests' rolled-back transaction."""
    app = create_app(
        app_config(
            make_database("fairdb_search_orders"),
            tmp_path / "instance",
            SEARCH_ORDER_REFRESH="background",
            SEARCH_ORDER_REFRESH_AFTER=0,
        )
    )
    with app.app_context():
        upgrade()
        owner = accounts.create_user(email="o@example.org", display_name="O", password="x" * 12)
        dataset = datasets.create_dataset(owner, title="t", checklist="MimsHumanGut")
        db.session.commit()
        path = tmp_path / "samples.csv"
        path.write_bytes(csv_bytes(rows(20)))
        assert ingest.ingest_samples(dataset, path, "samples.csv", owner).ok
        db.session.commit()

        search_orders.after_upload(app)
        for thread in threading.enumerate():
            if thread.name == "search-orders":
                thread.join(timeout=60)
        newest = db.session.scalar(select(db.func.max(Sample.id)))
        assert search_orders.covered() == {"name": newest, "date": newest, "age": newest}
        valid = db.session.execute(
            text(
                "SELECT bool_and(indisvalid), count(*) FROM pg_index"
                " JOIN pg_class ON pg_class.oid = indexrelid"
                " WHERE relname LIKE 'ix\\_samples\\_order\\_%'"
            )
        ).one()
        assert tuple(valid) == (True, 3)
        db.session.commit()

        result = app.test_cli_runner().invoke(args=["fairdb", "search-orders"])
        assert result.exit_code == 0, result.output
        assert "nothing to rebuild" in result.output
        assert ingest.ingest_samples(dataset, path, "more.csv", owner).ok is False  # same names
        more = tmp_path / "more.csv"
        more.write_bytes(csv_bytes(rows(5, prefix="M")))
        db.session.rollback()
        assert ingest.ingest_samples(dataset, more, "more.csv", owner).ok
        db.session.commit()
        result = app.test_cli_runner().invoke(args=["fairdb", "search-orders"])
        assert result.exit_code == 0, result.output
        assert result.output.count("samples up to id") == 3
        db.session.remove()
        db.engine.dispose()
