"""Shared fixtures: one real PostgreSQL per test session, a rolled-back transaction per test."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
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


def register_in_browser(page: Any, email: str, name: str) -> None:
    """Create an account through the real registration form (signs the browser in)."""
    page.goto("/auth/register")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()


def form_token(client: FlaskClient, path: str) -> str:
    """The CSRF token a browser would find in the form at path."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    if match is None:
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, f"no CSRF token in {path}"
    return match.group(1)


def engine_for(url: str) -> Engine:
    return create_engine(url, isolation_level="AUTOCOMMIT")


def scalar(url: str, sql: str) -> Any:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if requests.get(url, timeout=10).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@dataclass
class Served:
    url: str
    instance: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log: Path


def serve(instance: Path, **env_extra: str) -> Served:
    """What `make run` does: migrate the embedded database, then start gunicorn on it."""
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRDB_")}
    port = free_port()
    env.update(FAIRDB_INSTANCE_PATH=str(instance), PORT=str(port), **env_extra)
    subprocess.run(
        [bin_dir / "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    log = instance / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [bin_dir / "gunicorn", "wsgi:app", "-c", "gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/healthz", process)
    except BaseException:
        process.kill()
        process.wait(timeout=30)
        raise
    return Served(url=url, instance=instance, process=process, env=env, log=log)


def stop_served(served: Served) -> int:
    served.process.send_signal(signal.SIGTERM)
    return served.process.wait(timeout=60)


@pytest.fixture(scope="session")
def gunicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A real gunicorn (2 workers) on the embedded PostgreSQL, shared by the browser tests."""
    served = serve(tmp_path_factory.mktemp("served"))
    yield served
    stop_served(served)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    home = tmp_path_factory.mktemp("home")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=CHROMIUM_ARGS,
            env={**os.environ, "HOME": str(home)},
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, gunicorn_server: Served) -> Iterator[Any]:
    context = browser.new_context(base_url=gunicorn_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    # Script errors, CSP violations and broken assets (a form page answering 400 is not one).
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and "Failed to load resource" not in msg.text
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type not in ("document", "xhr", "fetch")
            else None
        ),
    )
    yield page
    context.close()
    assert problems == [], f"problems seen by the browser: {problems}"


@pytest.fixture
def create_dataset(app: Flask, create_user: Callable[..., User]) -> Callable[..., Any]:
    """Factory: a dataset owned by a new (or the given) researcher."""
    from fairdb.models import Privacy
    from fairdb.services import datasets

    def create(
        owner: User | None = None,
        *,
        title: str = "Gut cohort 2020",
        checklist: str = "MimsHumanGut",
        privacy: Privacy = Privacy.PRIVATE,
    ) -> Any:
        owner = owner or create_user()
        dataset = datasets.create_dataset(owner, title=title, checklist=checklist, privacy=privacy)
        db.session.commit()
        return dataset

    return create
