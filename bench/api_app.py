"""fairdb's WSGI app with one bare route beside it, for bench/api.py.

    gunicorn 'bench.api_app:create()' -c gunicorn.conf.py    (BENCH_BARE_SQL names a JSON file)

`/bare/<case>` replays, with psycopg2 and no Flask, the statements the API sent for that case
(recorded by bench/api.py from the very request it measures) and answers `json.dumps` of the
last one's rows. It runs in the same gunicorn workers and threads as the API, so comparing the
two leaves the app's own overhead: Flask, SQLAlchemy, the extensions and the API's serialising.
Importing this module starts nothing (bench/api.py times `replay` in its own process too).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def replay(connection: Any, statements: list[str]) -> bytes:
    """The statements in one transaction, rolled back as the app's session ends its own, and
    the last result's rows as JSON objects."""
    rows: list[dict[str, Any]] = []
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
                if cursor.description is not None:
                    names = [column.name for column in cursor.description]
                    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        connection.rollback()
    return json.dumps(rows, default=str).encode()


def create() -> WSGIApp:
    """wsgi.py's app (built and frozen as gunicorn serves it) behind a dispatcher that answers
    /bare/<case> itself, on one psycopg2 connection per worker thread."""
    import psycopg2

    from wsgi import app as fairdb_app

    statements: dict[str, list[str]] = json.loads(Path(os.environ["BENCH_BARE_SQL"]).read_text())
    dsn = fairdb_app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg2", "postgresql")
    local = threading.local()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        if not path.startswith("/bare/"):
            return fairdb_app(environ, start_response)  # type: ignore[no-any-return]
        case = path.removeprefix("/bare/")
        if case not in statements:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        if getattr(local, "connection", None) is None or local.connection.closed:
            local.connection = psycopg2.connect(dsn)
        body = replay(local.connection, statements[case])
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response("200 OK", headers)
        return [body]

    return app
