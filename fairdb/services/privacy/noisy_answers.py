"""Noisy answers: exact aggregates of a dataset's samples plus OpenDP noise, and their error.

Each answer is an exact aggregate over all of the dataset's samples plus noise whose scale
follows from the question's shape and the declared field definitions (noisy_bounds.py), never
from the data. Paying for answers is noisy.py's business.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Literal, get_args

from sqlalchemy import Numeric, case, cast, func, or_, select

from fairdb.extensions import db
from fairdb.models import Sample
from fairdb.models.base import utcnow
from fairdb.services.privacy.noisy_bounds import CATEGORICAL, NUMERIC, NumericField


@cache
def _dp() -> Any:
    """OpenDP, imported on the first noisy answer (its library takes 12 MB in every worker
    that loads it). "contrib" is the only feature enabled: make_laplace sits in OpenDP's
    contrib set (proved, not yet vetted). Not "floating-point" (0.16 draws float noise from a
    discrete Laplace on a fine grid, which needs no opt-in) and not "honest-but-curious" (we
    pass OpenDP no Python callbacks)."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


Kind = Literal["counts", "histogram", "mean"]
KINDS: tuple[str, ...] = get_args(Kind)
CONFIDENCE = 0.95
# OpenDP rounds a privacy map up by an ulp or so; more than this would be a real overspend.
MAP_SLACK = 1e-9


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None


@dataclass(frozen=True)
class Answer:
    """A released noisy summary, with how far from the truth it may be, in plain words."""

    field: str
    kind: str
    title: str
    epsilon: float
    bars: tuple[Bar, ...]
    noise_scale: float  # of each count, or of the clipped sum for a mean
    error_bound: float | None  # 95% of the time each number is within ± this of the truth
    explanation: str
    asked_at: datetime
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "kind": self.kind,
            "title": self.title,
            "epsilon": self.epsilon,
            "bars": [[bar.label, bar.value] for bar in self.bars],
            "noise_scale": self.noise_scale,
            "error_bound": self.error_bound,
            "explanation": self.explanation,
            "asked_at": self.asked_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, replayed: bool = False) -> Answer:
        return cls(
            field=data["field"],
            kind=data["kind"],
            title=data["title"],
            epsilon=data["epsilon"],
            bars=tuple(Bar(label, value) for label, value in data["bars"]),
            noise_scale=data["noise_scale"],
            error_bound=data["error_bound"],
            explanation=data["explanation"],
            asked_at=datetime.fromisoformat(data["asked_at"]),
            replayed=replayed,
        )


# --- mechanisms: OpenDP noise on exact aggregates ------------------------------------------


def _release(measurement: Any, value: Any, d_in: float | int, epsilon: float) -> Any:
    """Run an OpenDP measurement after checking that its privacy map fits the epsilon paid."""
    certified = float(measurement.map(d_in))
    if certified > epsilon * (1 + MAP_SLACK):
        raise RuntimeError(f"mechanism costs {certified}, more than the {epsilon} paid")
    return measurement(value)


def count_scale(epsilon: float) -> float:
    """Noise scale of a vector of counts: one record changes one count by one (L1 = 1)."""
    return 1.0 / epsilon


def noisy_counts(exact: Sequence[int], epsilon: float) -> list[int]:
    """Counts plus discrete Laplace noise (a histogram's L1 sensitivity is 1), clamped to >= 0."""
    dp = _dp()
    space = dp.vector_domain(dp.atom_domain(T="i64")), dp.l1_distance(T="i64")
    measurement = dp.m.make_laplace(*space, scale=count_scale(epsilon))
    noisy = _release(measurement, [int(n) for n in exact], 1, epsilon)
    return [max(int(n), 0) for n in noisy]  # post-processing: a count is never negative


def noisy_sum(exact: float, bound: float, epsilon: float) -> float:
    """A sum of values clipped to [-bound, bound] plus Laplace noise (sensitivity: bound)."""
    dp = _dp()
    space = dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float)
    measurement = dp.m.make_laplace(*space, scale=bound / epsilon)
    return float(_release(measurement, float(exact), bound, epsilon))


def count_error(epsilon: float, alpha: float = 1 - CONFIDENCE) -> int:
    """A count's noise stays within ± this with probability 1 - alpha (OpenDP's bound, floored)."""
    accuracy = float(_dp().discrete_laplacian_scale_to_accuracy(count_scale(epsilon), float(alpha)))
    # For a tiny scale OpenDP answers -inf (the noise is then 0 all but always).
    return max(math.floor(accuracy), 0) if math.isfinite(accuracy) else 0


# --- exact aggregates over all of a dataset's samples ---------------------------------------


def _exact_counts(dataset_id: int, field: str) -> list[int]:
    spec = CATEGORICAL[field]
    key = func.lower(func.btrim(spec.column))
    rows = db.session.execute(
        select(key, func.count()).where(Sample.dataset_id == dataset_id).group_by(key)
    ).all()
    index = {name.lower(): i for i, name in enumerate(spec.categories)}
    other, missing = len(spec.categories), len(spec.categories) + 1
    counts = [0] * len(spec.labels)
    for value, n in rows:
        counts[missing if value is None else index.get(value, other)] += n
    return counts


def _exact_histogram(dataset_id: int, spec: NumericField) -> list[int]:
    value, inner = spec.expression, len(spec.edges) - 1
    bucket = case(
        (value.is_(None), inner + 1),
        # NaN sorts above every number in PostgreSQL, so it lands outside too.
        (or_(value < spec.lower, value > spec.upper), inner),
        *((value < edge, i) for i, edge in enumerate(spec.edges[1:-1])),
        else_=inner - 1,  # the last bin includes its upper edge
    )
    rows = db.session.execute(
        select(bucket, func.count()).where(Sample.dataset_id == dataset_id).group_by(bucket)
    ).all()
    counts = [0] * len(spec.labels)
    for index, n in rows:
        counts[index] += n
    return counts


def _exact_clipped_sum(dataset_id: int, spec: NumericField) -> tuple[int, float]:
    clipped = func.greatest(func.least(spec.expression, spec.upper), spec.lower)
    # Summed as numeric, exactly: a float sum's rounding would depend on the records' order and
    # could let one record move it by more than the declared sensitivity.
    exact_sum = func.coalesce(func.sum(cast(clipped, Numeric)), 0)
    count, total = db.session.execute(
        select(func.count(spec.expression), exact_sum).where(Sample.dataset_id == dataset_id)
    ).one()
    return int(count), float(total)


# --- answers ---------------------------------------------------------------------------------


def _counted(
    field: str, kind: str, title: str, labels: Sequence[str], exact: list[int], epsilon: float
) -> Answer:
    noisy = noisy_counts(exact, epsilon)
    error = count_error(epsilon)
    words = (
        f"Each count is within ±{error} of the truth 95% of the time: random noise was added "
        "so that no single sample can be recognised, and negative counts were shown as 0."
    )
    bars = tuple(Bar(label, n) for label, n in zip(labels, noisy, strict=True))
    return Answer(field, kind, title, epsilon, bars, count_scale(epsilon), error, words, utcnow())


def _mean(dataset_id: int, field: str, epsilon: float) -> Answer:
    spec = NUMERIC[field]
    count, total = _exact_clipped_sum(dataset_id, spec)
    # Half the epsilon for the count of records with a value, half for the clipped sum.
    half = epsilon / 2
    noisy_count = noisy_counts([count], half)[0]
    noisy_total = noisy_sum(total, spec.sum_sensitivity, half)
    span = f"{spec.lower:g}–{spec.upper:g} {spec.unit}"
    clipping = f"Values outside {span} were counted as the nearest end of that range."
    mean: float | None = None
    bound: float | None = None
    if noisy_count < 1:
        words = "Too few samples give a value to compute a mean. " + clipping
    else:
        raw = noisy_total / noisy_count
        mean = min(max(raw, spec.lower), spec.upper)  # post-processing: the truth is in range
        # Union bound, 97.5% each: |sum noise| <= a_sum and |count noise| <= a_count, so
        # |mean - truth| <= (|raw| * a_count + a_sum) / (noisy_count - a_count).
        a_count = count_error(half, (1 - CONFIDENCE) / 2)
        a_sum = _dp().laplacian_scale_to_accuracy(spec.sum_sensitivity / half, (1 - CONFIDENCE) / 2)
        if noisy_count > a_count:
            bound = min(
                (abs(raw) * a_count + a_sum) / (noisy_count - a_count), spec.upper - spec.lower
            )
            words = f"The mean is within ±{bound:.3g} {spec.unit} of the truth 95% of the time. "
        else:
            words = "Too few samples give a value to say how close this mean is to the truth. "
        words += clipping
    bars = (Bar("mean", mean), Bar("samples with a value", noisy_count))
    title = f"{spec.title} ({spec.unit})"
    return Answer(
        field, "mean", title, epsilon, bars, spec.sum_sensitivity / half, bound, words, utcnow()
    )


def compute(dataset_id: int, field: str, kind: Kind, epsilon: float) -> Answer:
    if kind == "counts":
        spec = CATEGORICAL[field]
        exact = _exact_counts(dataset_id, field)
        return _counted(field, kind, spec.title, spec.labels, exact, epsilon)
    if kind == "histogram":
        numeric = NUMERIC[field]
        exact = _exact_histogram(dataset_id, numeric)
        title = f"{numeric.title} ({numeric.unit})"
        return _counted(field, kind, title, numeric.labels, exact, epsilon)
    return _mean(dataset_id, field, epsilon)
