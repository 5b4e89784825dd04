"""The factory, configuration, security baseline, error pages and /healthz."""

from __future__ import annotations

import json
import logging
import re

import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter

from fairdb import create_app
from fairdb.config import ConfigError
from tests.conftest import app_config

STRONG_KEY = "k" * 20 + "0123456789abcdef0123"


def test_production_refuses_to_start_without_a_real_secret_key(database_url, tmp_path, monkeypatch):
    monkeypatch.delenv("FAIRDB_SECRET_KEY", raising=False)
    for weak in (None, "", "dev", "short"):
        config = app_config(database_url, tmp_path, ENV="production", SECRET_KEY=weak)
        with pytest.raises(ConfigError, match="FAIRDB_SECRET_KEY"):
            create_app(config)


def test_production_never_runs_in_debug(database_url, tmp_path):
    app = create_app(
        app_config(database_url, tmp_path, ENV="production", SECRET_KEY=STRONG_KEY, DEBUG=True)
    )
    assert app.debug is False
    assert app.config["SECRET_KEY"] == STRONG_KEY


def test_settings_come_from_fairdb_environment_variables(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("FAIRDB_SITE_NAME", "Gut Lab Samples")
    monkeypatch.setenv("FAIRDB_PASSWORD_MIN_LENGTH", "14")
    app = create_app(app_config(database_url, tmp_path))
    assert app.config["PASSWORD_MIN_LENGTH"] == 14
    page = app.test_client().get("/").get_data(as_text=True)
    assert "Gut Lab Samples" in page


def test_development_generates_one_secret_key_and_keeps_it(database_url, tmp_path):
    first = create_app(app_config(database_url, tmp_path, SECRET_KEY=None))
    second = create_app(app_config(database_url, tmp_path, SECRET_KEY=None))
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_only_postgresql_is_accepted(tmp_path):
    with pytest.raises(ConfigError, match="postgresql://"):
        create_app(app_config("sqlite:///fairdb.db", tmp_path))


def test_healthz_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_database_is_unreachable(tmp_path):
    url = "postgresql+psycopg2://postgres@127.0.0.1:1/nowhere"
    app = create_app(app_config(url, tmp_path))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def _urls(app: Flask) -> list[tuple[str, str]]:
    """One concrete URL (and method) for every rule in the URL map."""
    found = []
    for rule in app.url_map.iter_rules():
        values = {
            arg: 1 if isinstance(rule._converters[arg], IntegerConverter) else "x"
            for arg in rule.arguments
        }
        if rule.endpoint == "uploads.template":
            values = {"name": "core", "fmt": "csv"}
        if rule.endpoint == "static":
            values = {"filename": "css/fairdb.css"}
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS"})[0]
        with app.test_request_context():
            from flask import url_for

            found.append((method, url_for(rule.endpoint, **values)))
    return found


def _assert_baseline(response) -> None:
    csp = response.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp)
    assert script_src
    assert "'unsafe-inline'" not in script_src.group(1)
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_security_headers_on_every_route_and_error_page(app, client):
    urls = _urls(app)
    assert len(urls) >= 6
    for method, url in [*urls, ("GET", "/no-such-page"), ("GET", "/api/no-such-thing")]:
        with client.open(url, method=method) as response:
            _assert_baseline(response)


def test_https_gets_hsts_and_secure_cookie(client):
    response = client.get("/auth/login", base_url="https://fairdb.example.org")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    plain = client.get("/auth/login")
    assert "Strict-Transport-Security" not in plain.headers


def test_session_cookie_is_httponly_samesite_and_secure_over_https(client, create_user):
    from tests.conftest import sign_in

    user = create_user()
    response = client.post(
        "/auth/login",
        data={"email": user.email, "password": "correct horse battery staple 42"},
        base_url="https://fairdb.example.org",
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie
    client.post("/auth/logout", base_url="https://fairdb.example.org")
    plain = sign_in(client, user.email).headers["Set-Cookie"]
    assert "Secure" not in plain


def test_behind_nginx_forwarded_https_is_trusted_only_when_configured(database_url, tmp_path):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    direct = create_app(app_config(database_url, tmp_path)).test_client()
    assert "Strict-Transport-Security" not in direct.get("/", headers=headers).headers
    proxied = create_app(app_config(database_url, tmp_path, PROXY_COUNT=1)).test_client()
    assert "Strict-Transport-Security" in proxied.get("/", headers=headers).headers


def test_not_found_is_a_page_for_browsers_and_problem_json_for_the_api(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert "There is no page at this address" in page.get_data(as_text=True)
    api = client.get("/api/no-such-thing")
    assert api.status_code == 404
    assert api.mimetype == "application/problem+json"
    assert api.get_json()["status"] == 404
    assert api.get_json()["title"] == "Not Found"


def test_forced_exception_shows_a_generic_page_without_traceback(database_url, tmp_path, caplog):
    app = create_app(app_config(database_url, tmp_path, ENV="production", SECRET_KEY=STRONG_KEY))

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("secret internal detail")

    @app.route("/api/boom")
    def api_boom() -> str:
        raise RuntimeError("secret internal detail")

    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        page = client.get("/boom")
    body = page.get_data(as_text=True)
    assert page.status_code == 500
    assert "Something went wrong on our side" in body
    assert "secret internal detail" not in body
    assert "Traceback" not in body
    _assert_baseline(page)
    assert any("secret internal detail" in (r.exc_text or "") for r in caplog.records)
    api = client.get("/api/boom")
    assert api.status_code == 500
    assert api.mimetype == "application/problem+json"
    assert "secret internal detail" not in api.get_data(as_text=True)


def test_logs_are_json_lines_carrying_the_request_id(client, capsys):
    client.get("/healthz", headers={"X-Request-ID": "req-abc-12345"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    access = [line for line in lines if line.get("logger") == "fairdb.access"]
    assert access, lines
    assert access[-1]["request_id"] == "req-abc-12345"
    assert access[-1]["path"] == "/healthz"
    assert access[-1]["status"] == 200


def test_an_unsafe_request_id_is_replaced(client):
    response = client.get("/healthz", headers={"X-Request-ID": "bad id; DROP TABLE users"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
