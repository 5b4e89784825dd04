"""PostgreSQL COPY from the session's transaction: the fast way in and out for bulk data."""

from __future__ import annotations

import io
from typing import Any

import polars as pl
from sqlalchemy import text

from fairdb.extensions import db


def raw_connection() -> Any:
    """The psycopg2 connection under the session's current transaction."""
    return db.session.connection().connection.dbapi_connection


def compiled(statement: Any) -> tuple[str, dict[str, Any]]:
    """A statement compiled once: its SQL with psycopg2 placeholders, and its parameters."""
    done = statement.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    return done.string, dict(done.params)


def copied(
    sql: str, parameters: dict[str, Any] | None = None, options: str = "FORMAT csv"
) -> bytes:
    """The rows of a query as COPY TO STDOUT writes them: far faster than the ORM for tens of
    thousands of rows. `parameters` (from `compiled`) are bound by psycopg2's own quoting;
    without them `sql` is trusted text (callers interpolate only integers)."""
    buffer = io.BytesIO()
    cursor = raw_connection().cursor()
    try:
        query = sql if parameters is None else cursor.mogrify(sql, parameters).decode()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT ({options})", buffer)
    finally:
        cursor.close()
    return buffer.getvalue()


def copy_out(
    query: str, schema: dict[str, Any], parameters: dict[str, Any] | None = None
) -> pl.DataFrame:
    """The rows of a query (see `copied`) as a frame of `schema`."""
    data = copied(query, parameters)
    if not data:
        return pl.DataFrame(schema=schema)
    return pl.read_csv(io.BytesIO(data), has_header=False, schema=schema)


def sample_id_mark() -> int:
    """A fresh value of the samples' id sequence. Taken before and after an upload's COPY, two
    marks bound the ids of the samples it stored (uploads.first/last_sample_id)."""
    mark = db.session.scalar(text("SELECT nextval(pg_get_serial_sequence('samples', 'id'))"))
    return int(mark)
