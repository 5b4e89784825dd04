"""Configuration: class defaults, then FAIRDB_* variables (the only reader of os.environ)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

_WEAK_SECRETS = {"", "dev", "change-me", "changeme", "secret", "development"}


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says which setting to fix."""


class Config:
    """Settings every environment shares; each can be overridden by FAIRDB_<NAME>."""

    ENV = "development"
    SECRET_KEY: str | None = None
    DATABASE_URL: str | None = None
    INSTANCE_PATH = str(ROOT / "instance")
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"connect_args": {"connect_timeout": 5}}
    # A pooled connection idle longer than this is pinged before use (fairdb/pooling.py).
    POOL_PING_AFTER_IDLE = 1.0
    SESSION_COOKIE_NAME = "fairdb_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 12
    # Secure cookies follow the request's scheme (see security.py); True forces them on.
    SECURE_COOKIES: bool | None = None
    HSTS_SECONDS = 60 * 60 * 24 * 365
    # Number of reverse proxies (nginx) whose X-Forwarded-* headers are trusted.
    PROXY_COUNT = 0
    WTF_CSRF_TIME_LIMIT = None
    RATELIMIT_STORAGE_URI = "fairdb-memory://"  # per worker; see fairdb/ratelimits.py
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
    LOGIN_LIMIT_PER_ADDRESS = "20 per 15 minutes"
    PASSWORD_MIN_LENGTH = 10
    MAX_CONTENT_LENGTH = 200 * 1024 * 1024
    LOG_LEVEL = "INFO"
    SITE_NAME = "fairdb"
    # Differential privacy: the epsilon each dataset's noisy summaries may spend in all (a dataset
    # can set its own), and what one summary costs unless the asker picks another amount.
    PRIVACY_BUDGET = 1.0
    PRIVACY_QUERY_EPSILON = 0.1
    # The publishing guard: making a dataset public or restricted below these asks the owner to
    # generalise first or to record a justification.
    PUBLISH_MIN_K = 5
    PUBLISH_MAX_RISK_SCORE = 20
    # Search orders (name, date, age) are served by indexes rebuilt after an upload leaves more
    # than this many samples past them: "background" (a thread), "inline" (in the upload's
    # transaction) or "off" (`flask fairdb search-orders` only). A rebuild takes about 5 s of
    # one core per million samples; until it ends, pages sort the new samples themselves.
    # See services/search_orders.py.
    SEARCH_ORDER_REFRESH = "background"
    SEARCH_ORDER_REFRESH_AFTER = 0
    # Requests per token (or per address without one) on /api/v1.
    API_RATE_LIMIT = "600 per minute"


class ProductionConfig(Config):
    """Production refuses to guess: a real secret key must be given."""

    ENV = "production"


class TestingConfig(Config):
    """Used by the test suite; the database URL comes from the fixture."""

    ENV = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"  # noqa: S105
    # In the test's own transaction (rolled back afterwards), never in a thread.
    SEARCH_ORDER_REFRESH = "inline"


_CLASSES: dict[str, type[Config]] = {
    "development": Config,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def _coerce(value: str) -> Any:
    """Interpret an environment string as Flask's from_prefixed_env does (JSON if it parses)."""
    import json

    try:
        return json.loads(value)
    except ValueError:
        return value


def load(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the settings mapping from the class for FAIRDB_ENV, the environment, then overrides."""
    env_name = (overrides or {}).get("ENV") or os.environ.get("FAIRDB_ENV", "development")
    if env_name not in _CLASSES:
        raise ConfigError(f"FAIRDB_ENV={env_name!r} is not one of {sorted(_CLASSES)}")
    cls = _CLASSES[env_name]
    settings = {key: getattr(cls, key) for key in dir(cls) if key.isupper()}
    for key, value in os.environ.items():
        if key.startswith("FAIRDB_") and key != "FAIRDB_ENV":
            name = key.removeprefix("FAIRDB_")
            settings[name] = value if name in {"SECRET_KEY", "DATABASE_URL"} else _coerce(value)
    settings.update(overrides or {})
    settings["ENV"] = env_name
    settings["DEBUG"] = False if env_name == "production" else bool(settings.get("DEBUG", False))
    if settings["SEARCH_ORDER_REFRESH"] not in {"background", "inline", "off"}:
        raise ConfigError(
            f"FAIRDB_SEARCH_ORDER_REFRESH={settings['SEARCH_ORDER_REFRESH']!r} is not one of"
            " background, inline, off"
        )
    return settings


def resolve_secret_key(settings: dict[str, Any], instance_path: Path) -> str:
    """The secret key: given, or (outside production) generated once and kept in the instance."""
    key = settings.get("SECRET_KEY")
    if key and str(key).strip().lower() not in _WEAK_SECRETS and len(str(key)) >= 16:
        return str(key)
    if settings["ENV"] == "production":
        raise ConfigError(
            "FAIRDB_SECRET_KEY is missing or too weak: in production set it to a random string "
            "of at least 32 characters, e.g. "
            'python -c "import secrets; print(secrets.token_hex(32))"'
        )
    path = instance_path / "secret_key"
    if not path.exists():
        # Written aside and linked into place so that workers starting together agree on one key.
        instance_path.mkdir(parents=True, exist_ok=True)
        draft = instance_path / f".secret_key.{os.getpid()}"
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
