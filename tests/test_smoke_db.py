from sqlalchemy import text

from fairdb.extensions import db


def test_database_is_postgres_and_migrated(app):
    version = db.session.execute(text("SHOW server_version")).scalar()
    assert version.startswith("16")
    tables = set(db.session.execute(text("SELECT tablename FROM pg_tables")).scalars())
    assert {"users", "auth_sessions", "alembic_version"} <= tables
