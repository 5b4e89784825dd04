"""Migrations are the only way the schema is built, and they match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from fairdb import create_app
from fairdb.extensions import db
from fairdb.models.base import include_object
from tests.conftest import app_config


def _tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_upgrade_on_empty_database_then_downgrade_then_upgrade(make_database, tmp_path):
    app = create_app(app_config(make_database("fairdb_migrations"), tmp_path))
    with app.app_context():
        assert _tables(db.engine) == set()
        upgrade()
        assert {"users", "auth_sessions"} <= _tables(db.engine)

        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": include_object}
            )
            drift = compare_metadata(context, db.metadata)
        assert drift == [], f"models and migrations differ: {drift}"

        downgrade(revision="base")
        assert _tables(db.engine) == {"alembic_version"}
        with db.engine.connect() as connection:
            types = connection.execute(text("SELECT typname FROM pg_type WHERE typtype = 'e'"))
            assert list(types) == []

        upgrade()
        assert {"users", "auth_sessions"} <= _tables(db.engine)
        db.engine.dispose()


def test_no_account_exists_after_migrating(app):
    from fairdb.models import User

    assert db.session.query(User).count() == 0
