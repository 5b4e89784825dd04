"""The declarative base with a naming convention, so migration constraint names are stable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware (a callable default, evaluated per row)."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Timestamped:
    """Mixin: created/updated timestamps kept by the database session."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


def include_object(
    object: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """What Alembic compares between the models and the database (migrations/env.py and the
    migration test). Partitions of abundances (one per uploaded table) are data, not schema."""
    if type_ == "table" and reflected and compare_to is None and name:
        return not (name.startswith("abundances_") and name.removeprefix("abundances_").isdigit())
    if type_ == "index" and reflected and compare_to is None and name:
        # ...and so are the search orders' indexes, rebuilt as samples arrive.
        return not name.startswith(("abundances_", "ix_samples_order_"))
    return True
