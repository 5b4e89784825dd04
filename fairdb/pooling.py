"""Connections are tested before use only after they sat idle in the pool.

SQLAlchemy's pool_pre_ping sends `SELECT 1` at every checkout: a round trip per request, about
6% of an API page. A connection that was in use a moment ago is as alive as a ping would show;
the ones a restarted PostgreSQL (or a firewall's idle timeout) has cut sat idle meanwhile. So
the same ping runs only for a connection idle longer than POOL_PING_AFTER_IDLE seconds, and a
dead one is replaced before the request sees it, as pool_pre_ping does. A server that goes
away under load makes the requests in flight fail once; SQLAlchemy then invalidates the pool.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine


def ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    dbapi_error = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine.pool, "checkin")
    def _idle_from(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since <= idle_seconds:
            return
        autocommit = dbapi_connection.autocommit
        try:
            dbapi_connection.autocommit = True  # the ping opens no transaction
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.autocommit = autocommit
        except dbapi_error as error:
            # The pool discards this connection and checks out (or opens) another.
            raise exc.DisconnectionError(str(error)) from error
