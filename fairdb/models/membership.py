"""Who else may work on a dataset, and the record of every change made to it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fairdb.models.base import Base, utcnow
from fairdb.models.user import User


class Membership(enum.StrEnum):
    """A collaborator's role on one dataset: viewers read everything, editors also change it."""

    VIEWER = "viewer"
    EDITOR = "editor"


class Collaborator(Base):
    __tablename__ = "dataset_collaborators"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[Membership] = mapped_column(
        Enum(Membership, name="membership", values_callable=lambda e: [m.value for m in e])
    )
    added_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class DatasetEvent(Base):
    """One change to a dataset: who, when, what, and the value before and after. Kept when the
    dataset is deleted (no foreign key), so a deletion stays on record."""

    __tablename__ = "dataset_events"
    __table_args__ = (Index("ix_dataset_events_dataset_id_id", "dataset_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # "created", "edited", "sample edited", "collaborator added", "collaborator removed",
    # "uploaded", "deleted"
    action: Mapped[str] = mapped_column(String(40))
    # What changed: a dataset field, "<sample name>: <field>", or a collaborator's email.
    target: Mapped[str] = mapped_column(String(400), default="")
    old_value: Mapped[Any] = mapped_column(JSONB, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSONB, nullable=True)

    user: Mapped[User | None] = relationship()
