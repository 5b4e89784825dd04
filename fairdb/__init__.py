"""fairdb: a FAIR database for microbiome research samples. create_app builds the application."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from fairdb import config as config_module
from fairdb.jsonio import OrjsonProvider


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, logging, extensions, blueprints, error handlers, commands."""
    settings = config_module.load(config)
    app = Flask(
        __name__,
        instance_path=str(Path(settings["INSTANCE_PATH"]).resolve()),
        template_folder=str(config_module.ROOT / "templates"),
        static_folder=str(config_module.ROOT / "static"),
    )
    app.json = OrjsonProvider(app)
    app.config.update(settings)
    configure_database(app)
    app.config["SECRET_KEY"] = config_module.resolve_secret_key(settings, Path(app.instance_path))

    register_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def configure_database(app: Flask) -> None:
    """PostgreSQL only: the configured server, or the embedded one in the instance folder."""
    from fairdb import embedded

    url = app.config.get("DATABASE_URL") or embedded.start(Path(app.instance_path))
    if not url.startswith(("postgresql://", "postgresql+psycopg2://", "postgres://")):
        raise config_module.ConfigError(
            "FAIRDB_DATABASE_URL must be a postgresql:// URL: fairdb relies on PostgreSQL "
            "(JSONB, full-text search, COPY) and supports no other database."
        )
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    app.config["SQLALCHEMY_DATABASE_URI"] = url


def register_logging(app: Flask) -> None:
    from fairdb import logs

    logs.configure(str(app.config["LOG_LEVEL"]))
    logs.init_app(app)


def register_extensions(app: Flask) -> None:
    from fairdb import pooling, security
    from fairdb.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    with app.app_context():
        pooling.ping_after_idle(db.engine, float(app.config["POOL_PING_AFTER_IDLE"]))
    migrate.init_app(app, db, directory=str(config_module.ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see this page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # sessions are ended server-side instead
    security.init_app(app)

    @app.context_processor
    def site() -> dict[str, Any]:
        return {"site_name": app.config["SITE_NAME"]}


def register_blueprints(app: Flask) -> None:
    from fairdb.api import abundance, checklists, datasets, openapi, samples  # noqa: F401
    from fairdb.api.core import bp as api_bp
    from fairdb.auth.views import bp as auth_bp
    from fairdb.browse.views import bp as browse_bp
    from fairdb.curate.views import bp as curate_bp
    from fairdb.main.views import bp as main_bp
    from fairdb.risk.views import bp as risk_bp
    from fairdb.uploads.views import bp as uploads_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(uploads_bp)
    app.register_blueprint(browse_bp)
    app.register_blueprint(curate_bp)
    app.register_blueprint(risk_bp)
    app.register_blueprint(api_bp)


def register_errorhandlers(app: Flask) -> None:
    from fairdb import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    from fairdb import cli

    cli.init_app(app)
