"""Datasets, the uploads that filled them, and the record of every upload attempt."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fairdb.models.base import Base, Timestamped, utcnow
from fairdb.models.user import User


class Privacy(enum.StrEnum):
    """Who may see a dataset or sample, from most to least open."""

    PUBLIC = "public"
    RESTRICTED = "restricted"
    PRIVATE = "private"

    @property
    def rank(self) -> int:
        return list(Privacy).index(self)

    def at_least(self, other: Privacy | None) -> Privacy:
        """The stricter of the two (a sample can only be stricter than its dataset)."""
        if other is None:
            return self
        return self if self.rank >= other.rank else other


PRIVACY_ENUM = Enum(Privacy, name="privacy_level", values_callable=lambda e: [m.value for m in e])

# SPDX identifiers offered for datasets; CC-BY-4.0 is the default.
LICENSES = {
    "CC-BY-4.0": "Creative Commons Attribution 4.0",
    "CC0-1.0": "Creative Commons Zero 1.0 (public domain)",
    "CC-BY-SA-4.0": "Creative Commons Attribution-ShareAlike 4.0",
    "CC-BY-NC-4.0": "Creative Commons Attribution-NonCommercial 4.0",
    "ODbL-1.0": "Open Data Commons Open Database License 1.0",
    "PDDL-1.0": "Open Data Commons Public Domain Dedication and License 1.0",
}


class Dataset(Timestamped, Base):
    """A described collection of samples with one owner and one privacy level."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    # [{"name": ..., "orcid": ... | None, "affiliation": ... | None}, ...] in citation order.
    creators: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    keywords: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)
    license: Mapped[str] = mapped_column(String(40), default="CC-BY-4.0")
    privacy: Mapped[Privacy] = mapped_column(PRIVACY_ENUM, default=Privacy.PRIVATE)
    checklist: Mapped[str] = mapped_column(String(60))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # An anonymised version points at the dataset it was generalised from (which stays as it was).
    derived_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL"), nullable=True
    )
    # Epsilon this dataset's noisy summaries may spend in all; None: the site's default.
    privacy_budget: Mapped[float | None] = mapped_column(Float, nullable=True)

    owner: Mapped[User] = relationship()
    uploads: Mapped[list[Upload]] = relationship(
        back_populates="dataset", order_by="Upload.id", cascade="all, delete-orphan"
    )


class Upload(Base):
    """A file whose samples were stored: its name, size, checksum, who and when."""

    __tablename__ = "uploads"
    __table_args__ = (UniqueConstraint("dataset_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20), default="samples")
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(Integer)
    # Cells most samples of this upload share, stored once instead of in every sample's
    # attributes; a sample's own attributes override them (null: the sample has no value).
    shared_cells: Mapped[dict[str, str]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    # Per-column statistics of the upload's cells (services/column_stats.py).
    column_stats: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    # Bounds on the ids of this upload's samples (taken from the id sequence around its COPY;
    # concurrent uploads may interleave, so other uploads' ids can fall inside). Keyset pages
    # jump over the id ranges of datasets the reader may not see instead of filtering them.
    first_sample_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_sample_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    dataset: Mapped[Dataset] = relationship(back_populates="uploads")
    uploaded_by: Mapped[User] = relationship()


class UploadAttempt(Base):
    """Progress and outcome of one upload, written on its own connection so the user can watch
    it and download the error report while the samples are stored all or nothing.

    No foreign keys on purpose: it is written while the dataset (created in the same request by
    the command line) may not be committed yet, and it outlives a rolled-back upload.
    """

    __tablename__ = "upload_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    # "samples" or "abundance": which form uploads the fixed file.
    kind: Mapped[str] = mapped_column(String(20), default="samples", server_default="samples")
    dataset_id: Mapped[int] = mapped_column(Integer, index=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    filename: Mapped[str] = mapped_column(String(255))
    # checking -> stored | rejected | failed
    status: Mapped[str] = mapped_column(String(20), default="checking")
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    # {"error_count": n, "errors": [...capped...], "unrecognised": [...], "stored": n}
    report: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
