"""What sample search reads instead of scanning every sample: the words of the typed text
columns (a small dictionary with a GIN index) and each upload's facet counts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from fairdb.models.base import Base


class SearchTerm(Base):
    """A distinct value of a searchable text column, with its words. A query word finds the
    values whose words start with it; samples are then found by those values. The dictionary
    only grows (a value no sample has any more finds nothing)."""

    __tablename__ = "search_terms"
    __table_args__ = (Index("ix_search_terms_document", "document", postgresql_using="gin"),)

    field: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text, primary_key=True)
    document: Mapped[str] = mapped_column(
        TSVECTOR, Computed("to_tsvector('simple'::regconfig, value)", persisted=True)
    )


class SampleFacet(Base):
    """How many samples of an upload share one combination of facet values. `open` separates
    samples anyone who may read the dataset sees from those whose own privacy is tighter."""

    __tablename__ = "sample_facets"

    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), index=True)
    dataset_id: Mapped[int] = mapped_column(Integer, index=True)
    open: Mapped[bool] = mapped_column(Boolean)
    geo_country: Mapped[str | None] = mapped_column(Text)
    host_body_site_label: Mapped[str | None] = mapped_column(Text)
    host_sex: Mapped[str | None] = mapped_column(Text)
    host_disease_stat: Mapped[str | None] = mapped_column(Text)
    seq_meth: Mapped[str | None] = mapped_column(Text)
    samples: Mapped[int] = mapped_column(Integer)


class SearchOrder(Base):
    """How far the index of one search order reaches. Samples with ids up to `upto` are in the
    partial btree `index_name` on (key, id); later samples are sorted per page until the next
    rebuild (services/search_orders.py keeps the indexes off the upload path)."""

    __tablename__ = "search_orders"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    upto: Mapped[int] = mapped_column(BigInteger, default=0)
    index_name: Mapped[str | None] = mapped_column(Text)
    built_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    build_seconds: Mapped[float | None] = mapped_column(Float)
