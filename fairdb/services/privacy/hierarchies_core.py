"""The generalisation hierarchy type and the factories for numeric and categorical ones.

Level 0 is the value as recorded (built from the typed sample columns by `Hierarchy.base`), the top
level suppresses everything to "*". `Hierarchy.generalise` reads only the level-0 String column, so
a lattice search can work on a small weighted frame of distinct value combinations. Every level is
computed from the level-0 value in one vectorised expression, yet each is a function of the level
below (bands, prefixes and grid cells nest), so generalising never splits an equivalence class.
A missing value is a category of its own, "(missing)", at every level below the top.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

MISSING = "(missing)"
SUPPRESSED = "*"


@dataclass(frozen=True)
class Hierarchy:
    """One quasi-identifier and its generalisation levels.

    `value` builds the level-0 value from `source_columns` (null when missing); `step(v, level)`
    maps a level-0 String `v` to its value at a level strictly between 0 and the top (null: not
    readable, counted as missing). Build hierarchies with the factories below.
    """

    name: str
    label: str
    source_columns: tuple[str, ...]
    levels: tuple[str, ...]
    value: Callable[[], pl.Expr]
    step: Callable[[pl.Expr, int], pl.Expr]

    @property
    def height(self) -> int:
        """The top level, where every value is "*"."""
        return len(self.levels) - 1

    def base(self) -> pl.Expr:
        """The level-0 value from the typed columns, a String aliased to `name`."""
        return self.value().cast(pl.String).fill_null(MISSING).alias(self.name)

    def generalise(self, column: str, level: int) -> pl.Expr:
        """The level-0 String column `column` at `level`, a String aliased to `column`."""
        self._check(level)
        value = pl.col(column).cast(pl.String)
        missing = value.is_null() | (value == MISSING)
        if level == self.height:
            # Not a bare literal: selected alone, pl.lit would collapse the frame to one row.
            suppressed = pl.when(missing).then(pl.lit(SUPPRESSED)).otherwise(pl.lit(SUPPRESSED))
            return suppressed.alias(column)
        if level == 0:
            return value.fill_null(MISSING).alias(column)
        stepped = self.step(value, level).cast(pl.String).fill_null(MISSING)
        return pl.when(missing).then(pl.lit(MISSING)).otherwise(stepped).alias(column)

    def loss(self, level: int) -> float:
        """Sweeney's Prec loss of this attribute at `level`: level / height, 0 as recorded, 1 at
        "*". It counts steps, not values: see `loss_on_data` for a measure that weighs them."""
        self._check(level)
        return level / self.height

    def _check(self, level: int) -> None:
        if not 0 <= level <= self.height:
            raise ValueError(f"{self.name} has levels 0 to {self.height}, not {level}.")


def loss_on_data(
    frame: pl.DataFrame, hierarchy: Hierarchy, column: str, level: int, weight: str | None = "n"
) -> float:
    """Iyengar's loss metric (LM) at `level`, on a frame holding the level-0 `column`.

    For each record: (distinct level-0 values merged into its generalised value - 1) /
    (distinct level-0 values - 1), averaged over records (weighted by `weight` when given). Unlike
    `Hierarchy.loss` it sees that 5-year bands of a cohort aged 30-34 lose nothing; 0 when the
    column holds a single value, since nothing can be lost then.
    """
    domain = frame.get_column(column).n_unique()
    if domain <= 1 or frame.height == 0:
        return 0.0
    merged = pl.col(column).n_unique().over(hierarchy.generalise(column, level).alias("_g"))
    share = (merged - 1) / (domain - 1)
    if weight is None:
        return float(frame.select(share.mean()).item())
    weights = pl.col(weight)
    return float(frame.select((share * weights).sum() / weights.sum()).item())


def _number_text(number: pl.Expr, decimals: int) -> pl.Expr:
    """A float rounded to `decimals`, written without a trailing ".0" (null unless finite)."""
    rounded = pl.when(number.is_finite()).then(number.round(decimals))
    whole = rounded.round(0)
    return (
        pl.when(rounded == whole)
        .then(whole.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(rounded.cast(pl.String))
    )


def fixed_point(units: pl.Expr, decimals: int) -> pl.Expr:
    """An integer count of 10**-decimals units written as a decimal, e.g. (-57, 1) -> "-5.7"."""
    if decimals == 0:
        return units.cast(pl.String)
    whole = units.abs() // 10**decimals
    fraction = (units.abs() % 10**decimals).cast(pl.String).str.zfill(decimals)
    sign = pl.when(units < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, whole.cast(pl.String), pl.lit("."), fraction])


def scaled(number: pl.Expr, decimals: int) -> pl.Expr:
    """A float as a whole count of 10**-decimals units, rounded once (null unless finite)."""
    finite = pl.when(number.is_finite()).then(number)
    factor: int = 10**decimals
    return (finite * factor).round(0).cast(pl.Int64, strict=False)


def _band_label(low: pl.Expr, high: pl.Expr) -> pl.Expr:
    text = pl.concat_str([low.cast(pl.String), pl.lit("-"), high.cast(pl.String)])
    return pl.when(low == high).then(low.cast(pl.String)).otherwise(text)


def banded(
    name: str,
    value: Callable[[], pl.Expr],
    *,
    label: str,
    source_columns: Sequence[str],
    widths: Sequence[int] = (5, 10, 20),
    top: int | None = None,
    bottom: int | None = None,
    decimals: int = 2,
    unit: str = "",
) -> Hierarchy:
    """Numbers in nested bands with top and bottom coding.

    Level 0 is the number rounded to `decimals`; level i puts it in a band of `widths[i-1]`
    ("30-34" holds 30 <= x < 35); values >= `top` become "top+" and values < `bottom` become
    "<bottom" at every banded level, and bands are clipped to end before them. Each width must
    divide the next, so bands nest and each level is a function of the one below.
    """
    if not widths or any(w <= 0 for w in widths):
        raise ValueError("Band widths must be positive.")
    if any(wider % narrower for narrower, wider in zip(widths, widths[1:], strict=False)):
        raise ValueError(f"Each band width must divide the next, so bands nest: {list(widths)}.")
    if top is not None and bottom is not None and bottom >= top:
        raise ValueError("The bottom code must lie below the top code.")

    def step(text: pl.Expr, level: int) -> pl.Expr:
        number = text.cast(pl.Float64, strict=False)
        number = pl.when(number.is_finite()).then(number)
        width = widths[level - 1]
        low = number.floor().cast(pl.Int64, strict=False) // width * width
        high = low + (width - 1)
        if top is not None:
            high = pl.min_horizontal(high, pl.lit(top - 1))
        if bottom is not None:
            low = pl.max_horizontal(low, pl.lit(bottom))
        band = _band_label(low, high)
        if bottom is not None:
            band = pl.when(number < bottom).then(pl.lit(f"<{bottom}")).otherwise(band)
        if top is not None:
            band = pl.when(number >= top).then(pl.lit(f"{top}+")).otherwise(band)
        return band

    levels = (
        f"as recorded, in {unit}s" if unit else "as recorded",
        *(f"{w}-{unit} bands" if unit else f"bands of {w}" for w in widths),
        "suppressed",
    )
    return Hierarchy(
        name=name,
        label=label,
        source_columns=tuple(source_columns),
        levels=tuple(levels),
        value=lambda: _number_text(value(), decimals),
        step=step,
    )


def numeric_hierarchy(
    name: str,
    column: str | None = None,
    *,
    label: str | None = None,
    widths: Sequence[int] = (5, 10, 20),
    top: int | None = None,
    bottom: int | None = None,
    decimals: int = 2,
) -> Hierarchy:
    """A numeric typed column (default: the one called `name`) in nested bands with top and
    bottom coding; see `banded`."""
    source = column or name
    return banded(
        name,
        lambda: pl.col(source).cast(pl.Float64),
        label=label or name,
        source_columns=(source,),
        widths=widths,
        top=top,
        bottom=bottom,
        decimals=decimals,
    )


def categorical_hierarchy(
    name: str, column: str | None = None, *, label: str | None = None
) -> Hierarchy:
    """A text typed column (default: the one called `name`): as recorded -> "*"."""
    source = column or name
    return Hierarchy(
        name=name,
        label=label or name,
        source_columns=(source,),
        levels=("as recorded", "suppressed"),
        value=lambda: pl.col(source),
        step=lambda text, level: text,
    )


def user_mapping(
    name: str,
    mapping: Mapping[str, str],
    *,
    label: str | None = None,
    column: str | None = None,
    other: str | None = "other",
) -> Hierarchy:
    """An owner's own grouping of a text column (default: the one called `name`): as recorded ->
    `mapping[value]` -> "*".

    Values the mapping does not name become `other` ("other" unless given): left as they are, a
    rare unmapped value would stay as identifying as before while the owner believes it grouped.
    Pass other=None to keep them as recorded. Missing values stay "(missing)" either way.
    """
    source = column or name
    groups = dict(mapping)

    def step(text: pl.Expr, level: int) -> pl.Expr:
        if other is None:
            return text.replace(groups)
        return text.replace_strict(groups, default=pl.lit(other), return_dtype=pl.String)

    return Hierarchy(
        name=name,
        label=label or name,
        source_columns=(source,),
        levels=("as recorded", "grouped", "suppressed"),
        value=lambda: pl.col(source),
        step=step,
    )
