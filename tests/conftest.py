"""Shared fixtures: one real PostgreSQL per test session, a rolled-back transaction per test."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine

from fairdb import create_app
from fairdb.extensions import db, limiter
from fairdb.models import Role, User
from fairdb.services import accounts

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple 42"


class BoundSession(FlaskSession):
    """Flask-SQLAlchemy's session ignores `bind=`; the tests need it to use their connection."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        if self.bind is not None:
            return self.bind
        return super().get_bind(*args, **kwargs)


class FreshContextClient(FlaskClient):
    """Each request starts with an empty `g`, as in production.

    pytest-flask keeps one app context pushed for the whole test and Flask reuses it for every
    request, so `g` (where Flask-WTF caches the CSRF token and Flask-Login the user) would leak
    from one request into the next.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            for name in list(vars(g)):
                delattr(g, name)
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real PostgreSQL 16 (pgserver) in a temporary folder, deleted at the end."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    server = pgserver.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def make_database(pg_server: Any) -> Callable[[str], str]:
    """Create an empty database and return its SQLAlchemy URL."""
    socket_dir = pg_server.get_postmaster_info().socket_dir

    def make(name: str) -> str:
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", name)
        pg_server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE);")
        pg_server.psql(f"CREATE DATABASE {name};")
        return f"postgresql+psycopg2://postgres@/{name}?host={socket_dir}"

    return make


@pytest.fixture(scope="session")
def database_url(make_database: Callable[[str], str]) -> str:
    return make_database("fairdb_test")


def app_config(url: str, instance: Path, **extra: Any) -> dict[str, Any]:
    return {
        "ENV": "testing",
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(instance),
        "WTF_CSRF_ENABLED": False,
        **extra,
    }


@pytest.fixture(scope="session")
def _app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app for the session, its database built by the migrations (the only way it is built)."""
    app = create_app(app_config(database_url, tmp_path_factory.mktemp("instance")))
    app.test_client_class = FreshContextClient
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(_app: Flask) -> Iterator[Flask]:
    """The session's app with its session bound to a transaction that is rolled back afterwards."""
    with _app.app_context():
        engine: Engine = db.engine
        connection: Connection = engine.connect()
        outer = connection.begin()
        original = db.session
        # A view's commit() releases a savepoint; the outer transaction is never committed.
        db.session = db._make_scoped_session(
            {
                "class_": BoundSession,
                "bind": connection,
                "join_transaction_mode": "create_savepoint",
            }
        )
        limiter.reset()
        saved = dict(_app.config)
        try:
            yield _app
        finally:
            _app.config.clear()
            _app.config.update(saved)
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def csrf_on(app: Flask) -> Flask:
    """Check CSRF tokens as production does (off elsewhere to keep form tests short)."""
    app.config["WTF_CSRF_ENABLED"] = True
    return app


@pytest.fixture
def create_user(app: Flask) -> Callable[..., User]:
    """Factory: an account that exists in the database (flushed, rolled back after the test)."""
    counter = iter(range(1, 10_000))

    def create(
        email: str | None = None,
        *,
        name: str = "Ada Researcher",
        password: str = PASSWORD,
        role: Role = Role.RESEARCHER,
    ) -> User:
        email = email or f"researcher{next(counter)}@example.org"
        user = accounts.create_user(email=email, display_name=name, password=password, role=role)
        db.session.commit()
        return user

    return create


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    return client.post("/auth/login", data={"email": email, "password": password})


def form_token(client: FlaskClient, path: str) -> str:
    """The CSRF token a browser would find in the form at path."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    if match is None:
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, f"no CSRF token in {path}"
    return match.group(1)


@pytest.fixture(scope="session")
def browser_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    return {**os.environ, "HOME": str(home)}


def engine_for(url: str) -> Engine:
    return create_engine(url, isolation_level="AUTOCOMMIT")


def scalar(url: str, sql: str) -> Any:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()
