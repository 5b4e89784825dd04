"""Samples: the typed columns search and privacy work need, and every cell kept as written."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Date, Float, Index, Integer, String, Text, case
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from fairdb.models.base import Base
from fairdb.models.dataset import PRIVACY_ENUM, Privacy

# The typed columns, in the order the bulk validator produces them and COPY writes them.
TYPED_COLUMNS = (
    "samp_name",
    "collection_date",
    "collection_date_precision",
    "geo_country",
    "geo_region",
    "geo_place",
    "latitude",
    "longitude",
    "env_broad_scale_label",
    "env_broad_scale_id",
    "env_local_scale_label",
    "env_local_scale_id",
    "env_medium_label",
    "env_medium_id",
    "host_taxid",
    "seq_meth",
    "host_subject_id",
    "host_sex",
    "host_body_site_label",
    "host_body_site_id",
    "host_age_value",
    "host_age_unit",
    "host_body_mass_index",
    "host_body_mass_index_unit",
    "host_disease_stat",
)


class Sample(Base):
    """One biological sample of a dataset. `attributes` holds every cell verbatim (lossless);
    the typed columns are parsed copies for search, plots and privacy metrics."""

    __tablename__ = "samples"
    # Rows arrive upload by upload, so dataset_id follows the physical order: a BRIN index finds
    # a dataset's samples and costs next to nothing on COPY (a btree cost 15-20% of load time).
    # Unique names per dataset are enforced by the ingest service under a per-dataset advisory
    # lock (services/ingest.py), for the same reason.
    __table_args__ = (Index("ix_samples_dataset_id_brin", "dataset_id", postgresql_using="brin"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # No foreign keys on purpose: PostgreSQL checks them row by row during COPY, which made
    # loading three times slower. Samples are written only by the ingest service, with the ids
    # of the dataset and upload rows it creates in the same transaction.
    dataset_id: Mapped[int] = mapped_column(Integer)
    upload_id: Mapped[int | None] = mapped_column(Integer)
    # None: as its dataset. Otherwise stricter than the dataset (checked by the service).
    privacy: Mapped[Privacy | None] = mapped_column(PRIVACY_ENUM)

    samp_name: Mapped[str] = mapped_column(Text)
    collection_date: Mapped[dt.date | None] = mapped_column(Date)
    collection_date_precision: Mapped[str | None] = mapped_column(String(10))
    geo_country: Mapped[str | None] = mapped_column(Text)
    geo_region: Mapped[str | None] = mapped_column(Text)
    geo_place: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    env_broad_scale_label: Mapped[str | None] = mapped_column(Text)
    env_broad_scale_id: Mapped[str | None] = mapped_column(Text)
    env_local_scale_label: Mapped[str | None] = mapped_column(Text)
    env_local_scale_id: Mapped[str | None] = mapped_column(Text)
    env_medium_label: Mapped[str | None] = mapped_column(Text)
    env_medium_id: Mapped[str | None] = mapped_column(Text)
    host_taxid: Mapped[int | None] = mapped_column(BigInteger)
    seq_meth: Mapped[str | None] = mapped_column(Text)
    host_subject_id: Mapped[str | None] = mapped_column(Text)
    host_sex: Mapped[str | None] = mapped_column(Text)
    host_body_site_label: Mapped[str | None] = mapped_column(Text)
    host_body_site_id: Mapped[str | None] = mapped_column(Text)
    host_age_value: Mapped[float | None] = mapped_column(Float)
    host_age_unit: Mapped[str | None] = mapped_column(Text)
    host_body_mass_index: Mapped[float | None] = mapped_column(Float)
    host_body_mass_index_unit: Mapped[str | None] = mapped_column(Text)
    host_disease_stat: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


# A host's age in years, when its unit is one of these (exact, case-sensitive). Search filters
# and sorts by it; an index on it serves the sort (services/search_orders.py), and PostgreSQL
# uses an expression index only for the same expression.
age_in_years = case(
    (Sample.host_age_unit.in_(("year", "years", "y", "yr", "a")), Sample.host_age_value),
    (Sample.host_age_unit.in_(("month", "months", "mo")), Sample.host_age_value / 12.0),
    (Sample.host_age_unit.in_(("week", "weeks", "wk")), Sample.host_age_value * 7 / 365.25),
    (Sample.host_age_unit.in_(("day", "days", "d")), Sample.host_age_value / 365.25),
    else_=None,
)
