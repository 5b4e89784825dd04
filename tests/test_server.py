"""A real gunicorn serving fairdb on the embedded PostgreSQL, as `make run` starts it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
import pytest
import requests

from tests.conftest import PASSWORD, ROOT, serve, stop_served

FLASK = Path(sys.executable).parent / "flask"

pytestmark = pytest.mark.server


def _postgres_processes(pgdata) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and any(str(pgdata) in part for part in cmdline):
            found.append(proc)
    return found


def create_user(env, email: str, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            FLASK,
            "--app",
            "wsgi",
            "fairdb",
            "create-user",
            email,
            "--name",
            name,
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        text=True,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def sign_in(url: str, email: str) -> str:
    session = requests.Session()
    page = session.get(url + "/auth/login", timeout=30).text
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = session.post(
        url + "/auth/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        timeout=30,
    )
    return response.text


def test_gunicorn_serves_on_the_embedded_database_and_stops_it_cleanly(tmp_path):
    served = serve(tmp_path / "instance")
    try:
        pgdata = served.instance / "pgdata"
        assert (pgdata / "PG_VERSION").read_text().strip() == "16"
        workers = psutil.Process(served.process.pid).children()
        assert len(workers) == 2
        health = requests.get(served.url + "/healthz", timeout=30)
        assert health.json() == {"status": "ok", "database": "ok"}
        assert health.headers["X-Request-ID"]

        # An operator's command runs beside the server without stopping the database under it.
        created = create_user(served.env, "op@example.org", "Operator")
        assert created.returncode == 0, created.stderr
        assert requests.get(served.url + "/healthz", timeout=30).status_code == 200

        assert 'data-testid="nav-user">Operator<' in sign_in(served.url, "op@example.org")
        assert _postgres_processes(pgdata)
    finally:
        code = stop_served(served)
    assert code == 0
    assert _postgres_processes(pgdata) == []
    assert not (pgdata / "postmaster.pid").exists()


def test_data_survives_a_restart(tmp_path):
    instance = tmp_path / "instance"
    first = serve(instance)
    assert create_user(first.env, "keep@example.org", "K").returncode == 0
    assert stop_served(first) == 0
    second = serve(instance)
    try:
        assert 'data-testid="nav-user">K<' in sign_in(second.url, "keep@example.org")
    finally:
        stop_served(second)
