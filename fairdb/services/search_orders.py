"""Indexes for the search orders other than upload order, kept off the upload path.

A btree on (key, id) per order makes any page in that order a keyset page, but kept up to date
row by row it cost a 1M-sample upload half its speed (PostgreSQL inserts into the date index at
thousands of places at once). So each order has a partial index on the samples with ids up to
`search_orders.upto`, built in one sorted pass; samples uploaded since are sorted per page
(services/search.py reads the two parts and merges them). After an upload (once more than
SEARCH_ORDER_REFRESH_AFTER samples are past an index), `refresh` builds a new one up to the
newest sample, CONCURRENTLY (reads and uploads go on), then drops the old. A page planned
with an older `upto` stays correct and uses the new index: `id <= old` implies `id <= new`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import ColumnElement, func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from fairdb.extensions import db
from fairdb.models import Sample, SearchOrder
from fairdb.models.sample import age_in_years

# Order name -> its key. "-date" reads the date index backwards.
KEYS: dict[str, Any] = {
    "name": Sample.samp_name,
    "date": Sample.collection_date,
    "age": age_in_years,
}
INDEX_PREFIX = "ix_samples_order_"
_LOCK_KEY = 0x0FA1_5EA2  # pg advisory lock: one rebuild at a time across processes
_IN_PROCESS = threading.Lock()


@dataclass
class Built:
    order: str
    index: str
    upto: int
    seconds: float


def covered(connection: Connection | None = None) -> dict[str, int]:
    """Each order's `upto`: the samples its index holds."""
    connection = connection or db.session.connection()
    found = connection.execute(select(SearchOrder.name, SearchOrder.upto)).all()
    return {name: upto for name, upto in found}


def _key_sql(key: ColumnElement[Any]) -> str:
    """The key as CREATE INDEX writes it: unqualified columns, literal values (the form
    psycopg2 sends a page's statement in, so PostgreSQL sees the same expression)."""
    compiled = key.compile(
        dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
        compile_kwargs={"literal_binds": True, "include_table": False},
    )
    return str(compiled)


def refresh(
    connection: Connection, *, concurrently: bool, behind: int = 0, top: int | None = None
) -> list[Built]:
    """Rebuild each order's index that more than `behind` samples have passed, up to the
    sample `top` (default: the newest). `concurrently` needs an autocommit connection (the
    background rebuild, the CLI); without it the build runs in the connection's transaction
    and holds off uploads meanwhile (inline, for tests). Statistics are refreshed after a
    build: the planner needs them for the age expression."""
    lock = {"key": _LOCK_KEY}
    if concurrently:
        if not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), lock).scalar():
            return []
    else:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), lock)
    try:
        built = _rebuild(connection, concurrently=concurrently, behind=behind, top=top)
        if built:
            connection.execute(text("ANALYZE samples"))
        return built
    finally:
        if concurrently:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), lock)


def _rebuild(
    connection: Connection, *, concurrently: bool, behind: int, top: int | None
) -> list[Built]:
    how = "CONCURRENTLY " if concurrently else ""
    orders = connection.execute(
        select(SearchOrder.name, SearchOrder.upto, SearchOrder.index_name)
    ).all()
    _drop_leftovers(connection, how, {index for _, _, index in orders if index})
    if top is None:
        top = connection.execute(select(func.coalesce(func.max(Sample.id), 0))).scalar_one()
    past: dict[int, int] = {}  # samples past an upto (the orders usually share one)
    built = []
    for order, upto, old in orders:
        if order not in KEYS or top <= upto:
            continue
        if upto not in past:
            past[upto] = connection.execute(
                select(func.count()).select_from(Sample).where(Sample.id > upto, Sample.id <= top)
            ).scalar_one()
        if past[upto] <= behind:
            continue
        index = f"{INDEX_PREFIX}{order}_{top}"
        started = time.perf_counter()
        connection.execute(
            text(
                f"CREATE INDEX {how}{index} ON samples (({_key_sql(KEYS[order])}), id)"
                f" WHERE id <= {int(top)}"
            )
        )
        seconds = time.perf_counter() - started
        connection.execute(
            update(SearchOrder)
            .where(SearchOrder.name == order)
            .values(upto=top, index_name=index, built_at=func.now(), build_seconds=seconds)
        )
        if old and old != index:
            connection.execute(text(f"DROP INDEX {how}IF EXISTS {old}"))
        built.append(Built(order, index, top, seconds))
    return built


def _drop_leftovers(connection: Connection, how: str, current: set[str]) -> None:
    """Indexes of a rebuild that stopped halfway (a CONCURRENTLY build that fails leaves an
    invalid index behind) or that no order points at any more (not in `current`)."""
    found = connection.execute(
        text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'samples'"
            " AND starts_with(indexname, :prefix)"
        ),
        {"prefix": INDEX_PREFIX},
    ).scalars()
    for name in [name for name in found if name not in current]:
        connection.execute(text(f'DROP INDEX {how}IF EXISTS "{name}"'))


def after_upload(app: Flask | None = None) -> None:
    """Called once an upload of samples is committed: rebuild the indexes that fell too far
    behind, as SEARCH_ORDER_REFRESH says ("background": in a thread, so the upload's answer
    does not wait; "inline": now, in the request's transaction; "off": never)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    mode = app.config["SEARCH_ORDER_REFRESH"]
    behind = int(app.config["SEARCH_ORDER_REFRESH_AFTER"])
    if mode == "inline":
        refresh(db.session.connection(), concurrently=False, behind=behind)
        db.session.commit()
    elif mode == "background":
        threading.Thread(
            target=_in_background, args=(app, behind), name="search-orders", daemon=True
        ).start()


def _in_background(app: Flask, behind: int) -> None:
    if not _IN_PROCESS.acquire(blocking=False):
        return  # a rebuild in this process is already under way; it sees this upload too
    try:
        with app.app_context():
            engine = db.engine
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                # Again while uploads committed during a build left an index behind.
                while built := refresh(connection, concurrently=True, behind=behind):
                    for one in built:
                        app.logger.info(
                            "search order index built",
                            extra={"order": one.order, "upto": one.upto, "seconds": one.seconds},
                        )
    except Exception:  # logged; pages stay correct (sorted per page) until the next rebuild
        app.logger.exception("search order index rebuild failed")
    finally:
        _IN_PROCESS.release()
