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


def copy_out(query: str, schema: dict[str, Any]) -> pl.DataFrame:
    """The rows of `query` (trusted SQL: callers interpolate only integers) as a frame, fetched
    with COPY TO STDOUT: far faster than the ORM for tens of thousands of rows."""
    buffer = io.BytesIO()
    cursor = raw_connection().cursor()
    try:
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", buffer)
    finally:
        cursor.close()
    if buffer.tell() == 0:
        return pl.DataFrame(schema=schema)
    buffer.seek(0)
    return pl.read_csv(buffer, has_header=False, schema=schema)


def sample_id_mark() -> int:
    """A fresh value of the samples' id sequence. Taken before and after an upload's COPY, two
    marks bound the ids of the samples it stored (uploads.first/last_sample_id)."""
    mark = db.session.scalar(text("SELECT nextval(pg_get_serial_sequence('samples', 'id'))"))
    return int(mark)
