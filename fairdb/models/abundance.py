"""Abundance tables: which features (taxa, ASVs, OTUs) live in which samples, and how much.

Stored sparse: one `abundances` row per non-zero entry. Features keep their original id, their
lineage parsed into ranks and, where given, their sequence.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fairdb.models.base import Base
from fairdb.models.dataset import Upload

RANKS = ("domain", "phylum", "class", "order", "family", "genus", "species")


class AbundanceTable(Base):
    """One uploaded feature table: what its values are and how it was read."""

    __tablename__ = "abundance_tables"

    # The upload row (kind "abundance") holds file name, size, SHA-256, who and when.
    id: Mapped[int] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(Integer, index=True)
    # "counts" when every value is a whole number, else "relative".
    value_kind: Mapped[str] = mapped_column(String(20))
    # "features-as-rows" or "samples-as-rows", as read (detected or chosen).
    orientation: Mapped[str] = mapped_column(String(20))
    taxonomy_source: Mapped[str] = mapped_column(String(40), default="none")
    feature_count: Mapped[int] = mapped_column(Integer)
    sample_count: Mapped[int] = mapped_column(Integer)
    entry_count: Mapped[int] = mapped_column(BigInteger)
    # The table's features have the consecutive ids first..last (reserved in one block), so its
    # entries are the abundances rows with feature_id in that range.
    first_feature_id: Mapped[int] = mapped_column(BigInteger)
    last_feature_id: Mapped[int] = mapped_column(BigInteger)

    upload: Mapped[Upload] = relationship()


class Feature(Base):
    """A row of a feature table: its id as uploaded, its lineage by rank, its sequence."""

    __tablename__ = "features"
    # One GIN index over the names at every rank finds "taxon X, at whatever rank" (taxa @>
    # ARRAY['Akkermansia']); seven btrees cost a table upload more than its entries' index.
    __table_args__ = (
        Index("ix_features_table_id_feature_id", "table_id", "feature_id", unique=True),
        Index("ix_features_taxa", "taxa", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # No foreign keys, like samples: written only by the abundance ingest service, by COPY.
    table_id: Mapped[int] = mapped_column(Integer)
    dataset_id: Mapped[int] = mapped_column(Integer)
    feature_id: Mapped[str] = mapped_column(Text)
    lineage: Mapped[str | None] = mapped_column(Text)
    sequence: Mapped[str | None] = mapped_column(Text)
    tax_domain: Mapped[str | None] = mapped_column(Text)
    tax_phylum: Mapped[str | None] = mapped_column(Text)
    tax_class: Mapped[str | None] = mapped_column(Text)
    tax_order: Mapped[str | None] = mapped_column(Text)
    tax_family: Mapped[str | None] = mapped_column(Text)
    tax_genus: Mapped[str | None] = mapped_column(Text)
    tax_species: Mapped[str | None] = mapped_column(Text)
    # The known names of the lineage, domain first (unknown ranks left out).
    taxa: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)


class Abundance(Base):
    """One non-zero entry: how much of a feature one sample holds (a count or a share)."""

    __tablename__ = "abundances"
    # Partitioned by ranges of feature ids: each uploaded table's features get one block of
    # consecutive ids, and its entries one partition (abundances_<table id>), COPYed into a
    # bare table that is then attached, so PostgreSQL builds the partition's BRIN index once,
    # after the load, instead of maintaining it row by row (half the load time). A table's
    # entries are found by partition pruning, a feature's by the BRIN: entries are loaded in
    # feature order. Three columns and no btree: a primary key made loading four times slower;
    # (feature_id, sample_id) is unique by construction, as the ingest service refuses
    # duplicate features and samples before anything is written.
    __table_args__ = (
        Index(
            "ix_abundances_feature_id_brin",
            "feature_id",
            postgresql_using="brin",
            postgresql_with={"pages_per_range": 16},
        ),
        {"postgresql_partition_by": "RANGE (feature_id)"},
    )
    __mapper_args__ = {"primary_key": ["feature_id", "sample_id"]}

    feature_id: Mapped[int] = mapped_column(BigInteger)
    sample_id: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float] = mapped_column(Float)


class SampleTotal(Base):
    """A sample's total in one table: relative abundance is value / total."""

    __tablename__ = "abundance_totals"

    # No foreign key (checked row by row during COPY): written only by the ingest service,
    # in the transaction that creates the table.
    table_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    total: Mapped[float] = mapped_column(Float)
