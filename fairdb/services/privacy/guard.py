"""The publishing guard: opening a dataset (private to restricted or public) runs the risk
report with the site's thresholds; above them the owner generalises first or records why the
dataset is published anyway (kept in its history and listed for administrators)."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
from flask import current_app
from sqlalchemy import select

from fairdb.extensions import db
from fairdb.models import Dataset, DatasetEvent, Privacy, User
from fairdb.services import curation
from fairdb.services.privacy import records, risk
from fairdb.services.privacy.hierarchies import MISSING

JUSTIFIED = "published above risk thresholds"


class GuardRefused(ValueError):
    """Opening the dataset needs a justification; `verdict` says why."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(" ".join(verdict.reasons))
        self.verdict = verdict


@dataclass
class Verdict:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    report: risk.RiskReport | None = None


def check(dataset: Dataset, privacy: Privacy) -> Verdict:
    """Whether `dataset` may become `privacy` without a justification: always when it does not
    open it further; else when its samples meet the site's k and risk score, measured on the
    suggested quasi-identifiers its samples actually fill and sensitive attributes."""
    if privacy.rank >= dataset.privacy.rank:  # not opened further
        return Verdict(True)
    suggested = records.suggested(dataset.checklist)
    frame = records.dataset_records(dataset.id, suggested)
    if frame.is_empty():
        return Verdict(True)
    filled = [q for q in suggested.quasi if (frame[q] != MISSING).any()]
    if not filled:
        return Verdict(True)
    # An attribute no sample fills reveals nothing (every class would be "all missing").
    revealing = [s for s in suggested.sensitive if frame[s].is_not_null().any()]
    choice = records.Choice(tuple(filled), tuple(revealing))
    min_k = int(current_app.config["PUBLISH_MIN_K"])
    max_score = int(current_app.config["PUBLISH_MAX_RISK_SCORE"])
    attributes = choice.attributes()
    summary = risk.summarise(frame.select(pl.col([*filled, *choice.sensitive])), filled, attributes)
    found = risk.report(summary, filled, attributes, k=min_k)
    reasons = []
    if found.k_achieved < min_k:
        reasons.append(
            f"{found.records_below_k:,} samples sit in groups smaller than {min_k} on "
            f"{', '.join(filled)} (k is {found.k_achieved}; this site asks for at least {min_k})."
        )
    if found.score > max_score:
        reasons.append(f"The risk score is {found.score}; this site asks for at most {max_score}.")
    return Verdict(not reasons, reasons, found)


def open_dataset(dataset: Dataset, user: User, privacy: Privacy, justification: str = "") -> bool:
    """Change the privacy level through the guard: raises GuardRefused when the risk is above
    the thresholds and no justification is given; a justified opening is recorded as such."""
    verdict = check(dataset, privacy)
    reason = justification.strip()
    if not verdict.ok and not reason:
        raise GuardRefused(verdict)
    changed = curation.set_privacy(dataset, user, privacy, reason)
    if changed and not verdict.ok:
        curation.record(
            dataset.id,
            user,
            JUSTIFIED,
            reason[:400],
            {"reasons": verdict.reasons},
            {"privacy": privacy.value, "score": verdict.report.score if verdict.report else None},
        )
    return changed


def justified_openings(limit: int = 200) -> list[DatasetEvent]:
    """Datasets opened above the thresholds, newest first, for administrators."""
    found = (
        select(DatasetEvent)
        .where(DatasetEvent.action == JUSTIFIED)
        .order_by(DatasetEvent.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(found))
