"""The re-identification risk report of a table: k-anonymity, l-diversity, t-closeness and one
overall score, computed from a weighted summary of its distinct rows.

Definitions follow the papers: k-anonymity (Sweeney 2002) is the size of the smallest
equivalence class, a class being the records that share all quasi-identifier values; distinct
and entropy l-diversity (Machanavajjhala et al. 2007) are the fewest distinct sensitive values
in a class and the smallest exp(entropy) of a class's distribution, natural log; t-closeness
(Li, Li & Venkatasubramanian 2007) is the largest Earth Mover's Distance between a class's
distribution and the whole table's: ordered distance for numbers, dates and ordinal scales,
equal distance for categories.

A missing value is never dropped: a missing quasi-identifier is a value of its own (those
records form classes like any other) and so is a missing sensitive value (for ordered
attributes it sorts after the largest value). The report always counts every record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import polars as pl

from fairdb.services.privacy.risk_classes import (
    Ints,
    class_ids,
    class_stats,
    first_rows,
    sensitive_codes,
    smallest,
)

WEIGHT = "n"  # the summary's column of record counts

SCORE_FORMULA = (
    "The risk score, from 0 (lowest) to 100 (highest), is 100 times the largest of three "
    "shares, rounded to the nearest whole number (halves up). The three follow the criteria "
    "of the Article 29 Working Party (Opinion 05/2014 on anonymisation techniques). "
    "Singling out: the share of records that are unique on the quasi-identifiers. "
    "Linkability: the average chance of re-identifying a record from its quasi-identifiers "
    "(prosecutor model: 1 / the size of its class, averaged over records, which is the "
    "number of classes divided by the number of records). "
    "Inference: the largest share, over the sensitive attributes, of records in a class whose "
    "records all have the same value of that attribute (0 without sensitive attributes). "
    "When records were suppressed, the three shares are of all the records of the original "
    "table (a record left out carries no risk), so suppressing can never raise the score."
)

# Class-size buckets for the plot: sizes 1 to 10 one by one, then 11-20, 21-50, 51-100, >100.
BUCKET_TOPS = (*range(1, 11), 20, 50, 100)
BUCKET_LABELS = (*(str(size) for size in range(1, 11)), "11-20", "21-50", "51-100", ">100")


@dataclass(frozen=True)
class Sensitive:
    """A sensitive attribute. `ordered` with no `order` orders numbers or dates by value;
    `order` gives the scale of an ordinal text attribute, lowest first."""

    name: str
    ordered: bool = False
    order: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.order is not None and not self.ordered:
            raise ValueError(f"{self.name}: an order is given, so set ordered=True")
        if self.order is not None and len(set(self.order)) != len(self.order):
            raise ValueError(f"{self.name}: its order names a value twice")


@dataclass(frozen=True)
class SizeBucket:
    """One bar of the class-size plot: classes of a size (or range) and their records."""

    label: str
    classes: int
    records: int


@dataclass(frozen=True)
class AttributeRisk:
    """How much the classes reveal of one sensitive attribute."""

    name: str
    distance: str  # "ordered" or "equal": the ground distance of its EMD
    values: int  # the attribute's domain: distinct values, missing included
    distinct_l: int  # fewest distinct values in a class
    entropy_l: float  # smallest exp(entropy) of a class
    t: float  # largest EMD between a class and the whole table
    homogeneous_classes: int  # classes where every record has the same value
    homogeneous_records: int


@dataclass(frozen=True)
class ScoreComponents:
    """The three shares behind the score, each from 0 to 1 (see SCORE_FORMULA)."""

    singling_out: float
    linkability: float
    inference: float


@dataclass(frozen=True)
class RiskyClass:
    """One of the smallest classes: its quasi-identifier values (None for missing), in the
    report's `quasi` order, its size and its distinct l per sensitive attribute."""

    values: tuple[Any, ...]
    size: int
    distinct_l: tuple[int, ...]


@dataclass(frozen=True)
class RiskReport:
    """The whole report; `to_dict()` gives it as JSON-ready data."""

    quasi: tuple[str, ...]
    sensitive: tuple[str, ...]
    records: int
    classes: int
    k: int
    k_achieved: int  # size of the smallest class (0 for an empty table)
    records_below_k: int
    share_below_k: float
    class_sizes: tuple[SizeBucket, ...]
    attributes: tuple[AttributeRisk, ...]
    score: int
    components: ScoreComponents
    riskiest_classes: tuple[RiskyClass, ...]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["score_formula"] = SCORE_FORMULA
        data["riskiest_classes"] = [
            {
                "values": {
                    name: _plain(value)
                    for name, value in zip(self.quasi, risky.values, strict=True)
                },
                "size": risky.size,
                "distinct_l": dict(zip(self.sensitive, risky.distinct_l, strict=True)),
            }
            for risky in self.riskiest_classes
        ]
        return data


def summarise(
    frame: pl.DataFrame,
    quasi: Sequence[str],
    sensitive: Sequence[str | Sensitive],
    *,
    weight: str | None = None,
) -> pl.DataFrame:
    """The distinct combinations of quasi-identifiers and sensitive values with their number of
    records in column `n`, missing values kept as values. `frame` has one row per record, or a
    count per row in column `weight` (regrouping a summary gives the summary of its records)."""
    columns = _names(quasi, sensitive)
    counted = pl.col(weight).sum() if weight is not None else pl.len()
    return frame.group_by(columns).agg(counted.cast(pl.Int64).alias(WEIGHT))


def report(
    summary: pl.DataFrame,
    quasi: Sequence[str],
    sensitive: Sequence[Sensitive],
    k: int = 5,
    riskiest: int = 10,
    *,
    population: int | None = None,
) -> RiskReport:
    """The risk report of a summary: rows of quasi-identifiers and sensitive values with their
    number of records in column `n` (rows may repeat: their counts add up).

    `population`: the records the summary was released from, when some were suppressed. The
    score's shares are then shares of everyone in the original table (a suppressed record
    carries no risk), so suppressing records can never raise the score; as shares of the
    records left they could (a homogeneous class may be all that remains)."""
    quasi, sensitive = tuple(quasi), tuple(sensitive)
    _check(summary, quasi, sensitive, k, riskiest)
    # A row that stands for no record takes no part; missing or negative counts are errors.
    kept = summary.filter(pl.col(WEIGHT) > 0)
    weights = kept[WEIGHT].cast(pl.Int64).to_numpy()
    classes, count = class_ids(kept, quasi)
    sizes = np.bincount(classes, weights=weights, minlength=count).astype(np.int64)
    records = int(weights.sum())

    attributes: list[AttributeRisk] = []
    distinct_per_class: list[Ints] = []
    for attribute in sensitive:
        ordered = attribute.ordered
        codes, values = sensitive_codes(kept[attribute.name], ordered, attribute.order)
        stats = class_stats(classes, sizes, codes, weights, values, ordered)
        homogeneous = stats.distinct == 1
        attributes.append(
            AttributeRisk(
                name=attribute.name,
                distance="ordered" if ordered else "equal",
                values=values,
                distinct_l=int(stats.distinct.min()) if count else 0,
                entropy_l=float(np.exp(stats.entropy.min())) if count else 0.0,
                t=float(stats.distance.max()) if count else 0.0,
                homogeneous_classes=int(homogeneous.sum()),
                homogeneous_records=int(sizes[homogeneous].sum()),
            )
        )
        distinct_per_class.append(stats.distinct)

    if population is not None and population < records:
        raise ValueError("the population cannot be smaller than the records released")
    score, components = _score(population or records, count, sizes, attributes)
    below = int(sizes[sizes < k].sum())
    return RiskReport(
        quasi=quasi,
        sensitive=tuple(attribute.name for attribute in sensitive),
        records=records,
        classes=count,
        k=k,
        k_achieved=int(sizes.min()) if count else 0,
        records_below_k=below,
        share_below_k=below / records if records else 0.0,
        class_sizes=_buckets(sizes),
        attributes=tuple(attributes),
        score=score,
        components=components,
        riskiest_classes=_riskiest(kept, quasi, classes, sizes, distinct_per_class, riskiest),
    )


def _names(quasi: Sequence[str], sensitive: Sequence[str | Sensitive]) -> list[str]:
    """The columns a summary groups by, each named once, none of them the counts."""
    names = [*quasi, *(item.name if isinstance(item, Sensitive) else item for item in sensitive)]
    if len(set(names)) != len(names):
        raise ValueError("a column is named twice among the quasi-identifiers and sensitive")
    if WEIGHT in names:
        raise ValueError(f"column {WEIGHT!r} holds the counts: rename that attribute")
    return names


def _check(
    summary: pl.DataFrame,
    quasi: tuple[str, ...],
    sensitive: tuple[Sensitive, ...],
    k: int,
    riskiest: int,
) -> None:
    names = _names(quasi, sensitive)
    missing = [name for name in [*names, WEIGHT] if name not in summary.columns]
    if missing:
        raise ValueError(f"no column {', '.join(missing)}: is this a summary (see summarise)?")
    if not summary.schema[WEIGHT].is_integer():
        raise ValueError(f"the counts in {WEIGHT!r} must be whole numbers")
    weights = summary[WEIGHT]
    if weights.null_count() or (weights < 0).any():
        raise ValueError(f"the counts in {WEIGHT!r} must be present and not negative")
    if k < 1 or riskiest < 0:
        raise ValueError("k must be at least 1 and riskiest not negative")


def _score(
    records: int, classes: int, sizes: Ints, attributes: list[AttributeRisk]
) -> tuple[int, ScoreComponents]:
    """The score and its three shares. All three share one denominator, the records (of the
    population the data were released from), so the
    score is rounded from whole numbers: a share of exactly x.5 % never lands on either side
    by a float's last bit."""
    if not records:
        return 0, ScoreComponents(0.0, 0.0, 0.0)
    unique = int((sizes == 1).sum())
    homogeneous = max((item.homogeneous_records for item in attributes), default=0)
    top = max(unique, classes, homogeneous)
    components = ScoreComponents(unique / records, classes / records, homogeneous / records)
    return (200 * top + records) // (2 * records), components


def _buckets(sizes: Ints) -> tuple[SizeBucket, ...]:
    """Classes and records per size bucket, every bucket listed (zeros too), so plots of two
    reports line up."""
    bucket = np.searchsorted(np.array(BUCKET_TOPS), sizes)  # past the last top: ">100"
    classes = np.bincount(bucket, minlength=len(BUCKET_LABELS))
    records = np.bincount(bucket, weights=sizes, minlength=len(BUCKET_LABELS))
    return tuple(
        SizeBucket(label, int(classes[i]), int(records[i])) for i, label in enumerate(BUCKET_LABELS)
    )


def _riskiest(
    kept: pl.DataFrame,
    quasi: tuple[str, ...],
    classes: Ints,
    sizes: Ints,
    distinct: list[Ints],
    riskiest: int,
) -> tuple[RiskyClass, ...]:
    chosen = smallest(sizes, distinct, riskiest)
    rows = first_rows(classes, chosen).tolist()
    # A frame without columns has no rows: with no quasi-identifier, values are ().
    shown = kept.select(quasi)[rows].rows() if quasi else [()] * len(rows)
    return tuple(
        RiskyClass(values, int(sizes[c]), tuple(int(d[c]) for d in distinct))
        for c, values in zip(chosen.tolist(), shown, strict=True)
    )


def _plain(value: Any) -> Any:
    """A quasi-identifier value as JSON can hold it."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    return str(value)
