"""A dataset's samples at a glance: counts by country, collection year, body site, host sex and
host age, in one pass over the dataset's rows (GROUPING SETS)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from fairdb.extensions import db

TOP = 15
AGE_BIN_YEARS = 10

_SQL = text(
    """
    SELECT
      GROUPING(geo_country) = 0 AS by_country, geo_country,
      GROUPING(year) = 0 AS by_year, year,
      GROUPING(host_body_site_label) = 0 AS by_site, host_body_site_label,
      GROUPING(host_sex) = 0 AS by_sex, host_sex,
      GROUPING(age_bin) = 0 AS by_age, age_bin,
      count(*)
    FROM (
      SELECT geo_country, host_body_site_label, host_sex,
             extract(year FROM collection_date)::int AS year,
             CASE WHEN host_age_unit IN ('year', 'years', 'y', 'yr', 'a')
                  THEN floor(host_age_value / :bin)::int * :bin END AS age_bin
      FROM samples WHERE dataset_id = :dataset
    ) AS s
    GROUP BY GROUPING SETS ((geo_country), (year), (host_body_site_label), (host_sex), (age_bin))
    """
)


def dataset_summary(dataset_id: int) -> dict[str, list[dict[str, Any]]]:
    """For each view, [{"label": ..., "count": ...}]: countries, sites and sexes by count (top
    15, the rest as 'other'), years and age bins in order; no value reads 'not given'."""
    buckets: dict[str, list[tuple[Any, int]]] = {
        "country": [],
        "year": [],
        "body_site": [],
        "host_sex": [],
        "host_age": [],
    }
    rows = db.session.execute(_SQL, {"dataset": dataset_id, "bin": AGE_BIN_YEARS})
    for by_country, country, by_year, year, by_site, site, by_sex, sex, by_age, age, n in rows:
        if by_country:
            buckets["country"].append((country, n))
        elif by_year:
            buckets["year"].append((year, n))
        elif by_site:
            buckets["body_site"].append((site, n))
        elif by_sex:
            buckets["host_sex"].append((sex, n))
        elif by_age:
            buckets["host_age"].append((age, n))
    out: dict[str, list[dict[str, Any]]] = {}
    for name in ("country", "body_site", "host_sex"):
        known = sorted(
            [(label, n) for label, n in buckets[name] if label is not None],
            key=lambda item: (-item[1], str(item[0])),
        )
        missing = sum(n for label, n in buckets[name] if label is None)
        rest = sum(n for _, n in known[TOP:])
        entries = [{"label": str(label), "count": n} for label, n in known[:TOP]]
        if rest:
            entries.append({"label": "other", "count": rest})
        if missing:
            entries.append({"label": "not given", "count": missing})
        out[name] = entries
    for name, label_of in (
        ("year", str),
        ("host_age", lambda low: f"{low}-{low + AGE_BIN_YEARS - 1}"),
    ):
        known_ordered = sorted((label, n) for label, n in buckets[name] if label is not None)
        missing = sum(n for label, n in buckets[name] if label is None)
        entries = [{"label": label_of(label), "count": n} for label, n in known_ordered]
        if missing:
            entries.append({"label": "not given", "count": missing})
        out[name] = entries
    return out
