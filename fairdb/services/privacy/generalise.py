"""Full-domain generalisation: the least-loss levels of the quasi-identifiers that meet targets
k, l and t, and the records generalised to them.

A node of the lattice is one level per quasi-identifier (Samarati 2001). The search works on a
weighted summary (`risk.summarise`): generalising its quasi-identifier columns and regrouping is
exact. Suppression, within the budget, removes whole classes: those smaller than k and, when l is
a target, those with fewer than l distinct values of a sensitive attribute. Suppressing l-failing
classes too keeps l monotone (a merged class failing l is made of classes that all failed it);
suppressing only small ones would let a merged class of one disease appear higher up. So k and l
are monotone under generalisation, and so is t without suppression (the EMD is convex); t with
suppression is not (what it is measured against changes with what is suppressed), and the walk
then checks the candidates one by one (see `generalise_lattice.walk`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from fairdb.services.privacy.generalise_lattice import (
    Criterion,
    Lattice,
    Nodes,
    generalised_values,
    walk,
)
from fairdb.services.privacy.hierarchies_core import Hierarchy
from fairdb.services.privacy.risk import WEIGHT, RiskReport, Sensitive, report, summarise

LOSS_MEASURE = (
    "Prec (Sweeney 2002) as a loss: the mean over quasi-identifiers of level / height, from 0 "
    "(as recorded) to 1 (all suppressed to '*'); suppressed records are counted apart"
)
DISCERNIBILITY_MEASURE = (
    "Discernibility metric (Bayardo & Agrawal 2005): the sum of the squared class sizes, plus "
    "the table's record count for each suppressed record"
)
IYENGAR_MEASURE = (
    "Iyengar's loss metric (2002): per quasi-identifier, (level-0 values merged - 1) / "
    "(domain - 1), averaged over records and quasi-identifiers; a suppressed record loses 1"
)
INPUT_ROW = "input_row"  # the column of `apply`'s output that names each row's input row


@dataclass(frozen=True)
class Targets:
    """What the released table must meet. `l` (distinct l-diversity) and `t` (t-closeness)
    apply to every sensitive attribute when a number, to the named ones when a mapping.
    `max_suppressed` is a number of records, not a share: exact, and the same figure the
    solution reports (a page offering a share converts it with the table's record count)."""

    k: int = 5
    l: int | Mapping[str, int] | None = None  # noqa: E741 (the letter of the papers)
    t: float | Mapping[str, float] | None = None
    max_suppressed: int = 0

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError("k must be at least 1")
        if self.max_suppressed < 0:
            raise ValueError("max_suppressed is a number of records: 0 or more")
        ls = self.l.values() if isinstance(self.l, Mapping) else [self.l]
        ts = self.t.values() if isinstance(self.t, Mapping) else [self.t]
        if any(value is not None and value < 1 for value in ls):
            raise ValueError("l must be at least 1")
        if any(value is not None and not 0 <= value <= 1 for value in ts):
            raise ValueError("t is a distance between 0 and 1")

    def l_of(self, name: str) -> int | None:
        return self.l.get(name) if isinstance(self.l, Mapping) else self.l

    def t_of(self, name: str) -> float | None:
        return self.t.get(name) if isinstance(self.t, Mapping) else self.t

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "l": dict(self.l) if isinstance(self.l, Mapping) else self.l,
            "t": dict(self.t) if isinstance(self.t, Mapping) else self.t,
            "max_suppressed": self.max_suppressed,
        }


@dataclass(frozen=True)
class Solution:
    """The outcome of a search. When nothing meets the targets, `found` is false, `message`
    says why, `levels` is empty and there is no `after` report."""

    found: bool
    message: str
    quasi: tuple[str, ...]
    heights: tuple[int, ...]
    sensitive: tuple[str, ...]
    targets: Targets
    nodes_evaluated: int
    lattice_size: int
    before: RiskReport
    seconds: float
    levels: tuple[int, ...] = ()
    labels: tuple[str, ...] = ()  # each level's name in its hierarchy
    loss: float | None = None
    discernibility: int | None = None
    iyengar_loss: float | None = None
    suppressed: int = 0
    after: RiskReport | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "found": self.found,
            "message": self.message,
            "targets": self.targets.to_dict(),
            "levels": [
                {"quasi": name, "level": level, "label": label, "height": height}
                for name, level, label, height in zip(
                    self.quasi, self.levels, self.labels, self.heights, strict=False
                )
            ],
            "loss": self.loss,
            "loss_measure": LOSS_MEASURE,
            "discernibility": self.discernibility,
            "discernibility_measure": DISCERNIBILITY_MEASURE,
            "iyengar_loss": self.iyengar_loss,
            "iyengar_measure": IYENGAR_MEASURE,
            "suppressed": self.suppressed,
            "nodes_evaluated": self.nodes_evaluated,
            "lattice_size": self.lattice_size,
            "before": self.before.to_dict(),
            "after": self.after.to_dict() if self.after is not None else None,
            "seconds": self.seconds,
        }


def search(
    summary: pl.DataFrame,
    hierarchies: Mapping[str, Hierarchy],
    sensitive: Sequence[Sensitive],
    targets: Targets,
) -> Solution:
    """The node of least Prec loss whose released table meets `targets`; ties go to fewer
    suppressed records, then to the lower levels in the order of `hierarchies`.

    `summary` has the level-0 values (as `Hierarchy.base` writes them) in columns named by the
    keys of `hierarchies`, the sensitive attributes, and counts in `n`."""
    started = time.perf_counter()
    quasi, sensitive = tuple(hierarchies), tuple(sensitive)
    _check(summary, hierarchies, sensitive, targets)
    base = summary.with_columns(h.generalise(name, 0) for name, h in hierarchies.items())
    base = base.filter(pl.col(WEIGHT) > 0)
    before = report(base, quasi, sensitive, k=targets.k)
    criteria = [
        Criterion(item, targets.l_of(item.name), targets.t_of(item.name)) for item in sensitive
    ]
    criteria = [c for c in criteria if c.l is not None or c.t is not None]
    nodes = Nodes(base, list(hierarchies.items()), criteria, targets.k, targets.max_suppressed)
    lattice = Lattice(tuple(h.height for h in hierarchies.values()))
    monotone = targets.max_suppressed == 0 or all(c.t is None for c in criteria)
    best = walk(nodes, lattice, monotone) if before.records else None
    common: dict[str, Any] = {
        "quasi": quasi,
        "heights": lattice.heights,
        "sensitive": tuple(item.name for item in sensitive),
        "targets": targets,
        "nodes_evaluated": len(nodes.verdicts),
        "lattice_size": len(lattice.grid),
        "before": before,
    }
    if best is None:
        message = _unreachable(base, before, targets)
        return Solution(False, message, seconds=time.perf_counter() - started, **common)
    verdict = nodes.check(best)
    levels = dict(zip(quasi, best, strict=True))
    released = _release(base, levels, hierarchies, targets, common["sensitive"], WEIGHT)
    released = summarise(released, quasi, sensitive, weight=WEIGHT)
    after = report(released, quasi, sensitive, k=targets.k, population=before.records)
    labels = tuple(h.levels[level] for h, level in zip(hierarchies.values(), best, strict=True))
    return Solution(
        found=True,
        message=(
            f"Generalised to {', '.join(f'{q}: {a}' for q, a in zip(quasi, labels, strict=True))}"
            f"; {verdict.suppressed} of {before.records} records suppressed."
        ),
        levels=best,
        labels=labels,
        loss=sum(level / h for level, h in zip(best, lattice.heights, strict=True)) / len(best),
        discernibility=verdict.discernibility,
        iyengar_loss=nodes.iyengar_loss(best),
        suppressed=verdict.suppressed,
        after=after,
        seconds=time.perf_counter() - started,
        **common,
    )


def apply(
    frame: pl.DataFrame,
    solution: Solution | Mapping[str, int],
    hierarchies: Mapping[str, Hierarchy],
    *,
    weight: str | None = None,
    targets: Targets | None = None,
    sensitive: Sequence[str] = (),
) -> pl.DataFrame:
    """The rows of `frame` (records, or a summary with counts in `weight`) generalised: the
    quasi-identifier columns at the solution's levels, the rows of suppressed classes removed,
    and column `input_row` giving each row's position in `frame` (a row absent from it was
    suppressed). Given plain levels, it suppresses only when given `targets` (with the
    `sensitive` columns their l reads), as a search would at those levels."""
    if isinstance(solution, Solution):
        if not solution.found:
            raise ValueError(solution.message)
        levels = dict(zip(solution.quasi, solution.levels, strict=True))
        return _release(frame, levels, hierarchies, solution.targets, solution.sensitive, weight)
    return _release(frame, dict(solution), hierarchies, targets, sensitive, weight)


def _release(
    frame: pl.DataFrame,
    levels: dict[str, int],
    hierarchies: Mapping[str, Hierarchy],
    targets: Targets | None,
    sensitive: Sequence[str],
    weight: str | None,
) -> pl.DataFrame:
    if INPUT_ROW in frame.columns:
        raise ValueError(f"column {INPUT_ROW!r} names the input rows: rename that column")
    unknown = sorted(set(levels) - set(hierarchies))
    if unknown:
        raise ValueError(f"no hierarchy for {', '.join(unknown)}")
    rows = frame.with_row_index(INPUT_ROW)
    if weight is not None:
        rows = rows.filter(pl.col(weight) > 0)  # rows that stand for no record
    rows = rows.with_columns(
        _generalised(rows[name], hierarchies[name], level) for name, level in levels.items()
    )
    if targets is None:
        return rows
    quasi = list(levels)
    size = pl.col(weight).sum() if weight is not None else pl.len()
    failing = size.over(quasi) < targets.k
    for name in sensitive:
        l_target = targets.l_of(name)
        if l_target is not None:
            # n_unique counts a missing value as one, as the report does.
            failing = failing | (pl.col(name).n_unique().over(quasi) < l_target)
    return rows.filter(~failing)


def _generalised(column: pl.Series, hierarchy: Hierarchy, level: int) -> pl.Series:
    """A column at `level`, through its distinct values: a few hundred generalised, not every
    row."""
    base = generalised_values(column, hierarchy, 0)
    if level == 0:
        return base
    distinct = base.unique()
    mapped = generalised_values(distinct, hierarchy, level)
    return base.replace_strict(distinct, mapped, return_dtype=pl.String)


def _check(
    summary: pl.DataFrame,
    hierarchies: Mapping[str, Hierarchy],
    sensitive: tuple[Sensitive, ...],
    targets: Targets,
) -> None:
    if not hierarchies:
        raise ValueError("no quasi-identifier to generalise")
    flat = [name for name, h in hierarchies.items() if h.height < 1]
    if flat:
        raise ValueError(f"{', '.join(flat)}: a hierarchy needs at least two levels")
    names = [item.name for item in sensitive]
    missing = [c for c in [*hierarchies, *names, WEIGHT] if c not in summary.columns]
    if missing:
        raise ValueError(f"no column {', '.join(missing)}: is this a summary (see summarise)?")
    for target in (targets.l, targets.t):
        named = set(target) if isinstance(target, Mapping) else set()
        if (target is not None and not names) or named - set(names):
            raise ValueError("l and t name sensitive attributes that are not given")


def _unreachable(base: pl.DataFrame, before: RiskReport, targets: Targets) -> str:
    """Why the top node fails: with every quasi-identifier at '*' all records form one class,
    and suppressing it would release nothing."""
    if not before.records:
        return "The table holds no records: there is nothing to release."
    reasons = []
    if before.records < targets.k:
        reasons.append(f"its {before.records} records are fewer than k = {targets.k}")
    for name in before.sensitive:
        wanted, present = targets.l_of(name), base[name].n_unique()
        if wanted is not None and present < wanted:
            reasons.append(f"{name} has {present} distinct values, fewer than l = {wanted}")
    return (
        "No generalisation meets the targets: even with every quasi-identifier suppressed to "
        f"'*' all records form one class, and {'; '.join(reasons)}."
    )
