"""The lattice walk behind `generalise.search`: nodes checked on integer codes, pruned by tags.

`Nodes` checks a node (one level per quasi-identifier) without building strings: each
quasi-identifier's distinct level-0 values are generalised once per level, and a summary row's
class is a combined key of those codes. `walk` tags the lattice as OLA (El Emam et al. 2009) and
Flash (Kohlmayer et al. 2012) do, a pass spreading to every node above and a fail to every node
below, until every node no costlier than the best pass has a verdict; the node checked next is
the one that splits the untagged nodes most evenly (binary search, carried over to the lattice),
which on the bench's records took half the checks of a binary search along chains as in Flash.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from fairdb.services.privacy.hierarchies_core import Hierarchy
from fairdb.services.privacy.risk import WEIGHT, Sensitive
from fairdb.services.privacy.risk_classes import (
    KEY_LIMIT,
    Ints,
    class_stats,
    dense,
    sensitive_codes,
)

# The EMD is a float sum whose last bits depend on the order of the rows: within this of the
# target t counts as met, so the search and a report of the released table never disagree.
T_TOLERANCE = 1e-9
TABLE_CELLS = 65536  # (class, value) cells counted in a table, not sorted: 4 per row + these

Node = tuple[int, ...]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Criterion:
    """The targets on one sensitive attribute (None: no target)."""

    attribute: Sensitive
    l: int | None  # noqa: E741 (the letter of the papers)
    t: float | None


@dataclass(frozen=True)
class Verdict:
    """One node checked. `kept`: after suppressing the classes that fail k or l, no more than
    the budget went and something is left (monotone); `ok`: t is met on the rest as well."""

    kept: bool
    ok: bool
    suppressed: int
    discernibility: int


@dataclass(frozen=True)
class Pairs:
    """The distinct (class, value code) pairs of one sensitive attribute, with their records,
    and the size of the value domain."""

    cls: Ints
    value: Ints
    n: Ints
    values: int

    def kept(self, keep: Bools, renumber: Ints, attribute: Sensitive) -> Pairs:
        """The pairs of the kept classes, as `sensitive_codes` would code the table they make:
        the values it holds in order, missing last (an explicit scale is kept whole)."""
        rows = keep[self.cls]
        value = self.value[rows]
        present = np.zeros(self.values, np.bool_)
        present[value] = True
        if attribute.order is not None:
            scale = len(attribute.order)
            width = scale + int(self.values > scale and present[scale])
            return Pairs(renumber[self.cls[rows]], value, self.n[rows], width)
        table = np.cumsum(present, dtype=np.int64) - 1
        return Pairs(renumber[self.cls[rows]], table[value], self.n[rows], int(present.sum()))


class Nodes:
    """Checks nodes on a summary whose quasi-identifier columns hold level-0 Strings."""

    def __init__(
        self,
        summary: pl.DataFrame,
        hierarchies: Sequence[tuple[str, Hierarchy]],
        criteria: Sequence[Criterion],
        k: int,
        budget: int,
    ) -> None:
        self.hierarchies, self.k, self.budget = hierarchies, k, budget
        self.criteria = tuple(criteria)
        self.weights: Ints = summary[WEIGHT].cast(pl.Int64).to_numpy()
        self.total = int(self.weights.sum())
        self.domains: list[pl.Series] = []
        self.rows: list[Ints] = []
        for name, _ in hierarchies:
            rows, domain = codes_of(summary[name])
            self.domains.append(domain)
            self.rows.append(rows)
        self.codes = [  # of the whole summary; a check with suppression recodes what is left
            sensitive_codes(summary[c.attribute.name], c.attribute.ordered, c.attribute.order)
            for c in self.criteria
        ]
        self._levels: dict[tuple[int, int], tuple[Ints, int]] = {}
        self.verdicts: dict[Node, Verdict] = {}

    def level_codes(self, position: int, level: int) -> tuple[Ints, int]:
        """Codes of a quasi-identifier's distinct level-0 values at `level`, and how many
        (cached: every node at that level reuses them)."""
        cached = self._levels.get((position, level))
        if cached is None:
            hierarchy = self.hierarchies[position][1]
            codes, distinct = codes_of(generalised_values(self.domains[position], hierarchy, level))
            cached = self._levels[(position, level)] = codes, len(distinct)
        return cached

    def classes(self, node: Node) -> tuple[Ints, int]:
        """Each summary row's class at `node`, numbered in the order of the values."""
        key = np.zeros(self.weights.size, np.int64)
        width = 1
        for position, level in enumerate(node):
            table, size = self.level_codes(position, level)
            if width * size >= KEY_LIMIT:
                key, width = dense(key, width)
            key = key * size + table[self.rows[position]]
            width *= size
        return dense(key, width)

    def pairs(self, classes: Ints, count: int, position: int, live: Bools) -> Pairs:
        """A sensitive attribute's (class, value) pairs in the `live` classes (not failing
        already): far fewer than rows at low nodes, where most classes fail k, and at high
        ones, where classes merge."""
        codes, values = self.codes[position]
        weights = self.weights
        if not live.all():
            rows = live[classes]
            classes, codes, weights = classes[rows], codes[rows], weights[rows]
        key = classes * values + codes
        if count * values <= 4 * key.size + TABLE_CELLS:
            # Few enough cells for a table: a bincount, no sort and no hashing.
            flat = np.bincount(key, weights=weights, minlength=count * values)
            present = np.flatnonzero(flat)
            weights = flat[present].astype(np.int64)
        else:
            # One sort (polars sorts on both cores) and a sum over each run of equal keys.
            order = pl.Series(key).arg_sort().to_numpy()
            key, weights = key[order], weights[order]
            starts = np.flatnonzero(np.diff(key, prepend=-1))
            present = key[starts]
            weights = np.add.reduceat(weights, starts) if starts.size else weights
        pair_class, pair_value = np.divmod(present, values)
        return Pairs(pair_class, pair_value, weights, values)

    def failing(self, classes: Ints, count: int) -> tuple[Ints, Bools, list[Pairs | None]]:
        """Class sizes; which classes fail k or some distinct l (those are suppressed); and
        the pairs of the attributes with an l target, in the classes that pass k."""
        sizes = np.bincount(classes, weights=self.weights, minlength=count).astype(np.int64)
        failing = sizes < self.k
        live = ~failing
        found: list[Pairs | None] = [None] * len(self.criteria)
        for position, criterion in enumerate(self.criteria):
            if criterion.l is not None:
                pairs = found[position] = self.pairs(classes, count, position, live)
                failing |= np.bincount(pairs.cls, minlength=count) < criterion.l
        return sizes, failing, found

    def check(self, node: Node) -> Verdict:
        """The verdict on `node`, checked once."""
        known = self.verdicts.get(node)
        if known is not None:
            return known
        classes, count = self.classes(node)
        sizes, failing, found = self.failing(classes, count)
        suppressed = int(sizes[failing].sum())
        kept = suppressed <= self.budget and suppressed < self.total
        ok = kept and self._close(classes, sizes, failing, found)
        kept_sizes = sizes[~failing]
        discernibility = int((kept_sizes * kept_sizes).sum()) + suppressed * self.total
        verdict = Verdict(kept, ok, suppressed, discernibility)
        self.verdicts[node] = verdict
        return verdict

    def _close(self, classes: Ints, sizes: Ints, failing: Bools, found: list[Pairs | None]) -> bool:
        """Whether every t target holds on the records left, against their own distribution
        (as a report of the released table measures it)."""
        renumber = np.cumsum(~failing) - 1  # kept classes, numbered anew in the same order
        for position, criterion in enumerate(self.criteria):
            if criterion.t is None:
                continue
            pairs = found[position] or self.pairs(classes, sizes.size, position, ~failing)
            if failing.any():
                pairs = pairs.kept(~failing, renumber, criterion.attribute)
            attribute = criterion.attribute
            stats = class_stats(
                pairs.cls, sizes[~failing], pairs.value, pairs.n, pairs.values, attribute.ordered
            )
            if float(stats.distance.max()) > criterion.t + T_TOLERANCE:
                return False
        return True

    def iyengar_loss(self, node: Node) -> float:
        """Iyengar's loss metric at `node`, the mean over quasi-identifiers of the records'
        (level-0 values merged - 1) / (domain - 1); a suppressed record loses 1 on each."""
        classes, count = self.classes(node)
        _, failing, _ = self.failing(classes, count)
        kept = np.where(failing[classes], 0, self.weights)
        shares = []
        for position, level in enumerate(node):
            table, size = self.level_codes(position, level)
            if table.size <= 1:
                shares.append(0.0)  # a single value: nothing to lose (loss_on_data agrees)
                continue
            merged = np.bincount(table, minlength=size)[table][self.rows[position]]
            lost = float(((merged - 1) * kept).sum()) / (table.size - 1)
            shares.append((lost + (self.total - float(kept.sum()))) / self.total)
        return sum(shares) / len(shares)


def codes_of(values: pl.Series) -> tuple[Ints, pl.Series]:
    """Each value's index among the distinct values in order, and those values."""
    distinct = values.unique().sort()
    index = pl.int_range(0, len(distinct), eager=True)
    return values.replace_strict(distinct, index, return_dtype=pl.Int64).to_numpy(), distinct


def generalised_values(values: pl.Series, hierarchy: Hierarchy, level: int) -> pl.Series:
    """`values` (level-0) at `level`, one for one."""
    name = values.name
    return values.to_frame().select(hierarchy.generalise(name, level)).get_column(name)


@dataclass
class Lattice:
    """Every node as a row of levels (in the order of itertools.product, so the rows reshape
    to a box of the heights + 1), with its generalisation cost in whole numbers: Prec's loss
    times the number of quasi-identifiers times the lcm of the heights, so ties are exact."""

    heights: tuple[int, ...]

    def __post_init__(self) -> None:
        self.shape = tuple(h + 1 for h in self.heights)
        self.grid = np.array(list(itertools.product(*map(range, self.shape))), np.int64)
        self.grid = self.grid.reshape(-1, len(self.heights))
        common = math.lcm(*self.heights)
        self.cost: Ints = self.grid @ np.array([common // h for h in self.heights], np.int64)
        self.tags = np.zeros(len(self.grid), np.int8)  # 1 passes, -1 fails, 0 not known

    def node(self, index: int) -> Node:
        return tuple(map(int, self.grid[index]))

    def tag(self, index: int, passes: bool) -> None:
        """Spread a verdict: a pass to every node above, a fail to every node below."""
        here = self.grid[index]
        reach = (self.grid >= here) if passes else (self.grid <= here)
        self.tags[reach.all(axis=1) & (self.tags == 0)] = 1 if passes else -1

    def splitter(self, open_nodes: Bools) -> int:
        """The open node with the most of min(open nodes below it, open nodes above it): that
        many get a verdict whatever its own (on a chain, binary search). The counts are box
        sums, prefix sums along each axis: a few passes over the nodes."""
        below = above = open_nodes.reshape(self.shape).astype(np.int64)
        above = np.flip(above)
        for axis in range(len(self.shape)):
            below = np.cumsum(below, axis=axis)
            above = np.cumsum(above, axis=axis)
        score = np.minimum(below, np.flip(above)).ravel()
        return int(np.argmax(np.where(open_nodes, score, -1)))


def walk(nodes: Nodes, lattice: Lattice, monotone: bool) -> Node | None:
    """The passing node of least cost (ties: fewer suppressed records, then the lower levels),
    None when even the top fails.

    `monotone`: whether `ok` itself is monotone (true unless t is a target and records may be
    suppressed: suppression changes the distribution t is measured against). If so, nodes are
    tagged by `ok`; if not, by `kept`, which is always monotone and necessary for `ok`, and
    the passing nodes are then checked one by one in order of cost."""
    top = len(lattice.grid) - 1
    verdict = nodes.check(lattice.node(top))
    lattice.tag(top, verdict.ok if monotone else verdict.kept)
    if not verdict.kept:
        return None
    # The top keeps its single class whole when it passes, so t (0 there) holds too.
    bound = int(lattice.cost[top])
    while True:
        # Nodes costlier than a passing one cannot win: only the cheaper ones need a verdict.
        open_nodes = (lattice.tags == 0) & (lattice.cost <= bound)
        if not open_nodes.any():
            break
        index = lattice.splitter(open_nodes)
        verdict = nodes.check(lattice.node(index))
        lattice.tag(index, verdict.ok if monotone else verdict.kept)
        if verdict.ok:
            bound = min(bound, int(lattice.cost[index]))
    # Every node no costlier than the bound has a verdict. Passing ones not checked yet (tied
    # with the best, or, when t with suppression breaks monotonicity, cheaper) are checked now.
    best: tuple[int, int, Node] | None = None
    passing = np.flatnonzero((lattice.tags == 1) & (lattice.cost <= bound))
    for index in passing[np.lexsort((passing, lattice.cost[passing]))]:
        cost = int(lattice.cost[index])
        if best is not None and cost > best[0]:
            break
        node = lattice.node(int(index))
        verdict = nodes.check(node)
        if verdict.ok and (best is None or (cost, verdict.suppressed, node) < best):
            best = (cost, verdict.suppressed, node)
    return best[2] if best is not None else None
