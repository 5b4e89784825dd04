"""What the abundance pages show: composition by rank, alpha and beta diversity, ordination.

Each function reads one stored table (and its samples' metadata) and returns plain data that a
chart, a table or the JSON API can use as it is. The numbers come from `diversity`, which is
checked against scikit-bio.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import select, text

from fairdb.abundance import diversity
from fairdb.extensions import db
from fairdb.models import RANKS, AbundanceTable, Sample, Upload
from fairdb.services.copying import copy_out
from fairdb.services.export import cell

# A chart of more samples than this shows the first ones in the chosen order, and says so.
MAX_CHART_SAMPLES = 500
MAX_ORDINATION_SAMPLES = 1_000
COMPOSITION_LEVELS = (*RANKS, "feature")


@dataclass
class Entries:
    """A stored table in coordinate form, with the database ids behind the indices."""

    sample_ids: np.ndarray
    feature_ids: np.ndarray
    sample_index: np.ndarray
    feature_index: np.ndarray
    values: np.ndarray


def load_entries(table: AbundanceTable, hidden: frozenset[int] = frozenset()) -> Entries:
    """All non-zero entries of a table (COPY out: a million entries in well under a second),
    but those of `hidden` samples (ones the reader may not see)."""
    frame = copy_out(
        "SELECT sample_id, feature_id, value FROM abundances "  # noqa: S608
        f"WHERE feature_id BETWEEN {int(table.first_feature_id)} "
        f"AND {int(table.last_feature_id)}",
        {"sample": pl.Int64, "feature": pl.Int64, "value": pl.Float64},
    )
    if hidden:
        frame = frame.filter(~pl.col("sample").is_in(list(hidden)))
    sample_ids, sample_index = np.unique(frame["sample"].to_numpy(), return_inverse=True)
    feature_ids, feature_index = np.unique(frame["feature"].to_numpy(), return_inverse=True)
    return Entries(sample_ids, feature_ids, sample_index, feature_index, frame["value"].to_numpy())


def sample_labels(
    table: AbundanceTable, sample_ids: np.ndarray, field: str | None
) -> tuple[dict[int, str], dict[int, str]]:
    """Names of the samples and, when a field is given, each sample's value of it (as uploaded;
    empty cells read 'not given')."""
    shared = {
        upload_id: cells
        for upload_id, cells in db.session.execute(
            select(Upload.id, Upload.shared_cells).where(Upload.dataset_id == table.dataset_id)
        )
    }
    names: dict[int, str] = {}
    groups: dict[int, str] = {}
    wanted = [int(i) for i in sample_ids]
    for start in range(0, len(wanted), 5_000):
        query = select(Sample).where(Sample.id.in_(wanted[start : start + 5_000]))
        for sample in db.session.scalars(query):
            names[sample.id] = sample.samp_name
            if field:
                common = shared.get(sample.upload_id) if sample.upload_id else None
                groups[sample.id] = cell(sample, field, common) or "not given"
    return names, groups


def composition(
    table: AbundanceTable,
    level: str,
    *,
    top: int = 10,
    group: str | None = None,
    mean: bool = False,
    hidden: frozenset[int] = frozenset(),
) -> dict[str, Any]:
    """Relative abundance at a rank (or per feature): the `top` taxa by mean abundance across
    samples, the rest as Other, unassigned as Unassigned. Per sample (ordered by group, then
    name), or with `mean` one bar per group (all samples when no group is given)."""
    rows = [row for row in _shares(table, level) if row[0] not in hidden]
    frame = pl.DataFrame(
        rows, schema={"sample": pl.Int64, "taxon": pl.String, "share": pl.Float64}, orient="row"
    ).with_columns(pl.col("taxon").fill_null("Unassigned"))
    samples = frame["sample"].unique().sort().to_numpy()
    names, groups = sample_labels(table, samples, group)
    ranking = (
        frame.filter(pl.col("taxon") != "Unassigned")
        .group_by("taxon")
        .agg(pl.col("share").sum())
        .sort(["share", "taxon"], descending=[True, False])
    )
    named = ranking["taxon"].head(top).to_list()
    labelled = frame.with_columns(
        pl.when(pl.col("taxon").is_in(named) | (pl.col("taxon") == "Unassigned"))
        .then(pl.col("taxon"))
        .otherwise(pl.lit("Other"))
        .alias("taxon")
    )
    if mean:
        bar_of = {
            int(s): groups.get(int(s), "all samples") if group else "all samples" for s in samples
        }
        bars: list[Any] = sorted(set(bar_of.values()))
        sizes = {bar: sum(1 for b in bar_of.values() if b == bar) for bar in bars}
        keyed = labelled.with_columns(
            pl.col("sample").replace_strict(bar_of, return_dtype=pl.String).alias("bar")
        )
        labels, total = bars, len(samples)
    else:
        order = sorted(samples.tolist(), key=lambda s: (groups.get(s, ""), names.get(s, "")))
        shown = order[:MAX_CHART_SAMPLES]
        keyed = labelled.filter(pl.col("sample").is_in(shown)).with_columns(
            pl.col("sample").alias("bar")
        )
        bars, sizes, total = shown, dict.fromkeys(shown, 1), len(samples)
        labels = [names.get(s, str(s)) for s in shown]
    sums = keyed.group_by(["bar", "taxon"]).agg(pl.col("share").sum())
    cell = {(bar, taxon): share for bar, taxon, share in sums.iter_rows()}
    taxa = [t for t in [*named, "Other", "Unassigned"] if any((b, t) in cell for b in bars)]
    return {
        "level": level,
        "mean": mean,
        "samples": labels,
        "groups": [groups.get(s) for s in bars] if group and not mean else None,
        "taxa": taxa,
        "values": [[round(cell.get((b, t), 0.0) / sizes[b], 6) for b in bars] for t in taxa],
        "sizes": [sizes[b] for b in bars] if mean else None,
        "total_samples": total,
    }


def alpha_table(
    table: AbundanceTable, *, group: str | None = None, hidden: frozenset[int] = frozenset()
) -> dict[str, Any]:
    """Observed features, Shannon, Simpson and (for counts) Chao1 of every sample."""
    entries = load_entries(table, hidden)
    metrics = diversity.alpha(
        entries.sample_index,
        entries.feature_index,
        entries.values,
        len(entries.sample_ids),
        counts=table.value_kind == "counts",
    )
    names, groups = sample_labels(table, entries.sample_ids, group)
    rows = []
    for i, sample in enumerate(entries.sample_ids.tolist()):
        row: dict[str, Any] = {"sample": names.get(sample, str(sample))}
        if group:
            row["group"] = groups.get(sample, "not given")
        for metric, values in metrics.items():
            value = float(values[i])
            row[metric] = None if np.isnan(value) else round(value, 6)
        rows.append(row)
    rows.sort(key=lambda r: (r.get("group") or "", r["sample"]))
    return {"metrics": list(metrics), "rows": rows, "group": group}


def _subset(entries: Entries, max_samples: int) -> tuple[Entries, int]:
    """At most `max_samples` samples (the first by id: the same every time)."""
    total = len(entries.sample_ids)
    if total <= max_samples:
        return entries, total
    keep = entries.sample_index < max_samples
    features, feature_index = np.unique(entries.feature_index[keep], return_inverse=True)
    return (
        Entries(
            entries.sample_ids[:max_samples],
            entries.feature_ids[features],
            entries.sample_index[keep],
            feature_index,
            entries.values[keep],
        ),
        total,
    )


def distances(
    table: AbundanceTable,
    metric: str,
    *,
    pseudocount: float = 1.0,
    max_samples: int = MAX_ORDINATION_SAMPLES,
    hidden: frozenset[int] = frozenset(),
) -> tuple[Entries, np.ndarray, int]:
    if metric not in diversity.BETA_METRICS:
        raise ValueError(f"metric must be one of {', '.join(diversity.BETA_METRICS)}")
    entries, total = _subset(load_entries(table, hidden), max_samples)
    matrix = diversity.beta(
        entries.sample_index,
        entries.feature_index,
        entries.values,
        len(entries.sample_ids),
        len(entries.feature_ids),
        metric,
        pseudocount=pseudocount,
    )
    return entries, matrix, total


def ordination(
    table: AbundanceTable,
    metric: str,
    *,
    color: str | None = None,
    pseudocount: float = 1.0,
    max_samples: int = MAX_ORDINATION_SAMPLES,
    hidden: frozenset[int] = frozenset(),
) -> dict[str, Any]:
    """PCoA of a beta-diversity matrix: the first axes, their share of the variation."""
    entries, matrix, total = distances(
        table, metric, pseudocount=pseudocount, max_samples=max_samples, hidden=hidden
    )
    dimensions = min(3, max(1, len(entries.sample_ids) - 1))
    coordinates, explained = diversity.pcoa(matrix, dimensions=dimensions)
    names, groups = sample_labels(table, entries.sample_ids, color)
    ids = entries.sample_ids.tolist()
    return {
        "metric": metric,
        "pseudocount": pseudocount if metric == "aitchison" else None,
        "samples": [names.get(s, str(s)) for s in ids],
        "groups": [groups.get(s, "not given") for s in ids] if color else None,
        "coordinates": np.round(coordinates, 6).tolist(),
        "proportion_explained": np.round(explained, 6).tolist(),
        "total_samples": total,
    }


def distance_csv(
    table: AbundanceTable,
    metric: str,
    *,
    pseudocount: float = 1.0,
    hidden: frozenset[int] = frozenset(),
) -> tuple[str, int]:
    """The distance matrix as CSV with sample names on both axes."""
    entries, matrix, total = distances(table, metric, pseudocount=pseudocount, hidden=hidden)
    names, _ = sample_labels(table, entries.sample_ids, None)
    labels = [names.get(s, str(s)) for s in entries.sample_ids.tolist()]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["sample", *labels])
    for name, row in zip(labels, matrix, strict=True):
        writer.writerow([name, *[f"{v:.10g}" for v in row]])
    return buffer.getvalue(), total


def sample_composition(
    table: AbundanceTable, sample_id: int, level: str = "genus", top: int = 10
) -> list[tuple[str, float]]:
    """One sample's largest taxa at a rank in one table, as (name, share); the rest as Other."""
    rows = sorted(
        (
            (taxon or "Unassigned", float(share))
            for _, taxon, share in _shares(table, level, sample_id)
        ),
        key=lambda item: (-item[1], item[0]),
    )
    shown = rows[:top]
    rest = sum(share for _, share in rows[top:])
    return shown + ([("Other", rest)] if rest > 0 else [])


def _shares(
    table: AbundanceTable, level: str, sample_id: int | None = None
) -> list[tuple[int, str | None, float]]:
    """(sample id, taxon at `level` or None when unassigned, relative abundance) of a table,
    or of one of its samples."""
    if level not in COMPOSITION_LEVELS:
        raise ValueError(f"level must be one of {', '.join(COMPOSITION_LEVELS)}")
    column = "f.feature_id" if level == "feature" else f"f.tax_{level}"
    one = " AND a.sample_id = :s" if sample_id is not None else ""
    rows = db.session.execute(
        text(
            f"SELECT a.sample_id, {column}, sum(a.value / t.total) FROM abundances a "  # noqa: S608
            "JOIN features f ON f.id = a.feature_id "
            "JOIN abundance_totals t ON t.table_id = :t AND t.sample_id = a.sample_id "
            f"WHERE a.feature_id BETWEEN :first AND :last{one} GROUP BY 1, 2"
        ),
        {
            "t": table.id,
            "first": table.first_feature_id,
            "last": table.last_feature_id,
            "s": sample_id,
        },
    ).all()
    return [(int(sample), taxon, float(share)) for sample, taxon, share in rows]
