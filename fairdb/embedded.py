"""The embedded PostgreSQL (pgserver) used when no FAIRDB_DATABASE_URL is given."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DATABASE_NAME = "fairdb"


def _server(pgdata: Path) -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
        warnings.simplefilter("ignore")
        import pgserver

    # 'stop': pgserver counts the processes holding the server and stops it when the last exits,
    # so a CLI command run beside gunicorn never stops the server under it.
    return pgserver.get_server(  # type: ignore[attr-defined]
        pgdata, cleanup_mode="stop"
    )


def start(instance_path: Path) -> str:
    """Start (or join) the embedded server kept in the instance folder; return its database URL."""
    pgdata = instance_path / "pgdata"
    instance_path.mkdir(parents=True, exist_ok=True)
    server = _server(pgdata)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        logger.info("created database %s in %s", DATABASE_NAME, pgdata)
    socket_dir = server.get_postmaster_info().socket_dir
    logger.info("embedded postgresql ready", extra={"pgdata": str(pgdata), "pid": os.getpid()})
    return f"postgresql+psycopg2://postgres@/{DATABASE_NAME}?host={socket_dir}"


def stop(instance_path: Path) -> None:
    """Release this process's hold on the embedded server (it stops when no process holds it)."""
    _server(instance_path / "pgdata").cleanup()
