"""Keeping sample search's two small tables current: the dictionary of searchable words
(`search_terms`) and each upload's facet counts (`sample_facets`).

An upload collects both from the validator's typed chunks as they pass (a group-by per chunk,
no extra scan of the stored rows) and writes them in its own transaction, so they commit or
roll back with the samples. A change to samples after upload (a sample's privacy, an edit)
rebuilds its upload's counts from the table.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import delete, text
from sqlalchemy.dialects.postgresql import insert

from fairdb.extensions import db
from fairdb.models import SampleFacet, SearchTerm

# Text columns whose values a query word can find (names and subject ids are matched apart).
TERM_FIELDS = (
    "geo_country",
    "geo_region",
    "geo_place",
    "host_body_site_label",
    "env_broad_scale_label",
    "env_local_scale_label",
    "env_medium_label",
    "host_disease_stat",
    "seq_meth",
    "host_sex",
)
FACET_COLUMNS = ("geo_country", "host_body_site_label", "host_sex", "host_disease_stat", "seq_meth")


class UploadIndex:
    """An upload's words and facet counts, gathered chunk by chunk."""

    def __init__(self) -> None:
        self.terms: dict[str, set[str]] = {name: set() for name in TERM_FIELDS}
        self.counts: list[pl.DataFrame] = []

    def add(self, typed: pl.DataFrame) -> None:
        for name in TERM_FIELDS:
            if name in typed.columns:
                self.terms[name].update(typed[name].drop_nulls().unique().to_list())
        columns = [
            pl.col(name) if name in typed.columns else pl.lit(None, pl.String).alias(name)
            for name in FACET_COLUMNS
        ]
        self.counts.append(typed.select(columns).group_by(FACET_COLUMNS).len())

    def write(self, dataset_id: int, upload_id: int) -> None:
        if self.counts:
            merged = (
                pl.concat(self.counts)
                .group_by(FACET_COLUMNS)
                .agg(pl.col("len").sum().alias("samples"))
            )
            db.session.execute(
                insert(SampleFacet),
                [
                    {**row, "upload_id": upload_id, "dataset_id": dataset_id, "open": True}
                    for row in merged.iter_rows(named=True)
                ],
            )
        terms = [
            {"field": name, "value": value}
            for name, values in self.terms.items()
            for value in sorted(values)
        ]
        for start in range(0, len(terms), 5000):
            db.session.execute(
                insert(SearchTerm).on_conflict_do_nothing(), terms[start : start + 5000]
            )


_REBUILD = text(
    """
    INSERT INTO sample_facets (upload_id, dataset_id, open, geo_country, host_body_site_label,
        host_sex, host_disease_stat, seq_meth, samples)
    SELECT upload_id, dataset_id, privacy IS NULL OR privacy = 'public', geo_country,
        host_body_site_label, host_sex, host_disease_stat, seq_meth, count(*)
    FROM samples WHERE upload_id = :upload
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    """
)


def rebuild_upload(upload_id: int) -> None:
    """Count an upload's samples again (after a change to some of them)."""
    db.session.execute(delete(SampleFacet).where(SampleFacet.upload_id == upload_id))
    db.session.execute(_REBUILD, {"upload": upload_id})


def add_terms(values: dict[str, str | None]) -> None:
    """Words of edited values (field -> value), so a query finds them too."""
    rows = [
        {"field": name, "value": value}
        for name, value in values.items()
        if name in TERM_FIELDS and value
    ]
    if rows:
        db.session.execute(insert(SearchTerm).on_conflict_do_nothing(), rows)
