"""The per-worker pieces that replace library defaults for speed: idle connections are still
tested before use, and the limiter's memory storage still forgets expired counters."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from fairdb import create_app, ratelimits
from fairdb.extensions import db
from tests.conftest import app_config, engine_for


def _backend(engine: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _pooled_session_cut(url: str, engine: Any) -> int:
    """Use a pooled connection, then end its server session from outside the pool while it
    sits idle, as an administrator (or PostgreSQL restarting) would. Returns its pid."""
    pid = _backend(engine)
    other = engine_for(url)
    with other.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    other.dispose()
    time.sleep(0.2)
    return pid


def test_an_idle_connection_the_server_closed_is_replaced_before_use(database_url, tmp_path):
    app = create_app(app_config(database_url, tmp_path, POOL_PING_AFTER_IDLE=0.05))
    with app.app_context():
        first = _pooled_session_cut(database_url, db.engine)
        assert _backend(db.engine) != first
        db.engine.dispose()


def test_a_connection_in_recent_use_is_not_pinged_and_fails_once_if_cut(database_url, tmp_path):
    """The trade against pool_pre_ping: no round trip for a connection used a moment ago, so
    one cut in that moment fails the statement in flight; the next gets a new connection."""
    app = create_app(app_config(database_url, tmp_path, POOL_PING_AFTER_IDLE=60))
    with app.app_context():
        first = _pooled_session_cut(database_url, db.engine)
        with pytest.raises(OperationalError), db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert _backend(db.engine) != first
        db.engine.dispose()


def test_limiter_storage_sweeps_expired_counters_without_a_timer_thread(monkeypatch):
    monkeypatch.setattr(ratelimits, "SWEEP_SECONDS", 0.05)
    storage = ratelimits.SweptMemoryStorage()
    storage.timer.join()  # the one MemoryStorage starts when built
    threads = threading.active_count()
    assert storage.incr("old", expiry=0.01) == 1
    assert storage.incr("live", expiry=60) == 1
    time.sleep(0.1)
    assert storage.incr("live", expiry=60) == 2  # this hit sweeps
    assert "old" not in storage.storage
    assert storage.get("live") == 2
    assert threading.active_count() == threads
