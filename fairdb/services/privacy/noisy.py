"""Differentially private summaries of a dataset, paid from its epsilon budget through a ledger.

Used to show summaries of restricted datasets to people who may not open them. A question is
"counts of a categorical field", "histogram of a numeric field" or "mean of a numeric field" at
some epsilon. Asking it locks the dataset row, replays the answer if the same question was
answered before (free: re-asking must not average the noise away), refuses it when the budget
cannot pay, and otherwise computes a noisy answer and writes it to the PrivacySpend ledger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from flask import current_app
from sqlalchemy import func, select

from fairdb.extensions import db
from fairdb.models import Dataset, PrivacySpend, User
from fairdb.services.privacy.noisy_answers import (
    KINDS,
    Answer,
    Bar,
    Kind,
    compute,
    count_error,
    noisy_counts,
    noisy_sum,
)
from fairdb.services.privacy.noisy_bounds import CATEGORICAL, NUMERIC

__all__ = [
    "KINDS",
    "Answer",
    "Bar",
    "BudgetSpent",
    "Kind",
    "LedgerEntry",
    "UnknownQuestion",
    "answers",
    "ask",
    "budget",
    "count_error",
    "ledger",
    "noisy_counts",
    "noisy_sum",
    "question",
    "question_label",
    "questions",
    "remaining",
]

# Spends are floats: 0.3 - 0.1 - 0.1 is 0.0999...98, which must still pay for a 0.1 question.
SLACK = 1e-9
# Below this the noise dwarfs any dataset (and OpenDP's error bounds overflow).
MIN_EPSILON = 1e-6


class BudgetSpent(Exception):
    """The dataset's epsilon budget cannot pay for this question."""

    def __init__(self, remaining: float, needed: float) -> None:
        self.remaining = remaining
        self.needed = needed
        super().__init__(
            f"This dataset's privacy budget is spent: {remaining:.3g} epsilon left, "
            f"this summary needs {needed:.3g}. Answers given before can still be viewed."
        )


class UnknownQuestion(ValueError):
    """A field or kind of summary without a declared definition, or an unusable epsilon."""


@dataclass(frozen=True)
class LedgerEntry:
    """One line of a dataset's privacy history."""

    at: datetime
    query: str
    epsilon: float
    asked_by: str | None  # display name; None once the account is deleted


def questions() -> list[tuple[str, Kind]]:
    """Every (field, kind) that may be asked, in a stable order."""
    found: list[tuple[str, Kind]] = [(field, "counts") for field in CATEGORICAL]
    for field in NUMERIC:
        found += [(field, "histogram"), (field, "mean")]
    return found


def question(field: str, kind: str, epsilon: float) -> str:
    """The ledger's text for a question; equal texts are the same question."""
    return f"{kind} {field} at epsilon {epsilon!r}"


def budget(dataset: Dataset) -> float:
    """The epsilon this dataset's noisy summaries may spend in all."""
    if dataset.privacy_budget is not None:
        return float(dataset.privacy_budget)
    return float(current_app.config["PRIVACY_BUDGET"])


def _spent(dataset_id: int) -> float:
    total = db.session.scalar(
        select(func.coalesce(func.sum(PrivacySpend.epsilon), 0.0)).where(
            PrivacySpend.dataset_id == dataset_id
        )
    )
    return float(total or 0.0)


def remaining(dataset: Dataset) -> float:
    """Epsilon still available for new questions about this dataset (never below zero)."""
    return max(budget(dataset) - _spent(dataset.id), 0.0)


def _checked(field: str, kind: str, epsilon: float | None) -> tuple[Kind, float]:
    if (field, kind) not in questions():
        raise UnknownQuestion(f"No noisy {kind!r} summary is defined for the field {field!r}.")
    if epsilon is None:
        epsilon = float(current_app.config["PRIVACY_QUERY_EPSILON"])
    if not (math.isfinite(epsilon) and epsilon >= MIN_EPSILON):
        raise UnknownQuestion(f"Epsilon must be a number of at least {MIN_EPSILON:g}.")
    return cast(Kind, kind), float(epsilon)  # a kind of questions(), checked above


def ask(
    user: User | None, dataset: Dataset, field: str, kind: str, epsilon: float | None = None
) -> Answer:
    """A noisy summary of the dataset's samples: replayed if asked before, else paid and logged.

    Raises UnknownQuestion for an undefined question and BudgetSpent when the budget cannot pay.
    Flushes the ledger row; the caller commits (which also releases the row lock).
    """
    checked_kind, epsilon = _checked(field, kind, epsilon)
    query = question(field, checked_kind, epsilon)
    # Lock the dataset row until the transaction ends, so two askers are served one after the
    # other: the second sees the first's spend (or its answer, to replay) once it commits.
    locked_budget = db.session.execute(
        select(Dataset.privacy_budget).where(Dataset.id == dataset.id).with_for_update()
    ).scalar_one()
    earlier = db.session.scalars(
        select(PrivacySpend)
        .where(PrivacySpend.dataset_id == dataset.id, PrivacySpend.query == query)
        .order_by(PrivacySpend.id)
        .limit(1)
    ).first()
    if earlier is not None:
        return Answer.from_json(earlier.answer, replayed=True)
    total = (
        float(locked_budget)
        if locked_budget is not None
        else float(current_app.config["PRIVACY_BUDGET"])
    )
    left = max(total - _spent(dataset.id), 0.0)
    if epsilon > left + SLACK:
        raise BudgetSpent(left, epsilon)
    answer = compute(dataset.id, field, checked_kind, epsilon)
    db.session.add(
        PrivacySpend(
            dataset_id=dataset.id,
            user_id=user.id if user is not None else None,
            query=query,
            epsilon=epsilon,
            at=answer.asked_at,
            answer=answer.to_json(),
        )
    )
    db.session.flush()
    return answer


def ledger(dataset: Dataset) -> list[LedgerEntry]:
    """Every spend on this dataset, oldest first, for a history table."""
    rows = db.session.execute(
        select(PrivacySpend.at, PrivacySpend.query, PrivacySpend.epsilon, User.display_name)
        .outerjoin(User, User.id == PrivacySpend.user_id)
        .where(PrivacySpend.dataset_id == dataset.id)
        .order_by(PrivacySpend.at, PrivacySpend.id)
    ).all()
    return [LedgerEntry(at, query, epsilon, name) for at, query, epsilon, name in rows]


def answers(dataset: Dataset) -> list[Answer]:
    """Every answer released about this dataset, newest first: shown to anyone who may find
    the dataset (post-processing a released answer costs no budget)."""
    rows = db.session.scalars(
        select(PrivacySpend.answer)
        .where(PrivacySpend.dataset_id == dataset.id)
        .order_by(PrivacySpend.at.desc(), PrivacySpend.id.desc())
    ).all()
    return [Answer.from_json(row, replayed=True) for row in rows]


_KIND_WORDS = {"counts": "Samples per value of", "histogram": "Histogram of", "mean": "Mean of"}


def question_label(field: str, kind: str) -> str:
    """A question in words, for a form: 'Samples per value of host_sex'."""
    return f"{_KIND_WORDS.get(kind, kind)} {field}"
