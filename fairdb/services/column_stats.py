"""Per-column statistics of a dataset's samples: how filled each column is, how many distinct
values it has, and its top values or, for numbers, min / median / max.

They are gathered while an upload is checked, from each chunk's cells as written (no rescan of
the stored rows), kept on the upload (`uploads.column_stats`), and merged per dataset when its
page is shown. Distinct counts stop being exact past `TRACKED` values; medians come from a
sample of each chunk's numbers past `SAMPLED` per chunk (marked approximate on the page). Cells
of blanks count as empty, except in columns past `TRACKED` distinct values.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

TRACKED = 2000  # distinct values counted per column and upload
SAMPLED = 2000  # numbers kept per chunk for the median
TOP = 5
NUMERIC_SHARE = 0.9  # a column is numeric when this share of its filled cells are numbers


class UploadStats:
    """Accumulates one upload's column statistics, chunk by chunk."""

    def __init__(self) -> None:
        self.rows = 0
        self.filled: dict[str, int] = {}
        self.values: dict[str, dict[str, int]] = {}
        self.overflow: set[str] = set()
        self.numbers: dict[str, list[pl.Series]] = {}
        self.numeric_cells: dict[str, int] = {}
        self.extremes: dict[str, tuple[float, float]] = {}
        self.numeric: dict[str, bool] = {}
        self.sampled = False

    def add(self, frame: pl.DataFrame) -> None:
        """A chunk of cells as written (null or empty for no value), in one polars pass over
        all its columns."""
        self.rows += frame.height
        names = [name for name in frame.columns if not name.startswith("__")]
        if not names:
            return
        # Whether a column holds numbers is decided on the first chunk that fills it.
        candidates = [n for n in names if self.numeric.get(n, True)]
        expressions = []
        for n in names:
            text = pl.col(n).cast(pl.String)
            present = text.filter(text != "")
            expressions.append(present.len().alias(f"filled {n}"))
            if n not in self.overflow:
                expressions.append(present.value_counts().implode().alias(f"values {n}"))
        for n in candidates:
            number = pl.col(n).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
            finite = number.filter(number.is_finite())
            expressions += [
                finite.len().alias(f"count {n}"),
                finite.min().alias(f"min {n}"),
                finite.max().alias(f"max {n}"),
                finite.shuffle(seed=self.rows).head(SAMPLED).implode().alias(f"sample {n}"),
            ]
        summary = frame.select(expressions).row(0, named=True)
        for name in names:
            count = int(summary[f"filled {name}"])
            if name not in self.overflow:
                count -= self._count_values(name, summary[f"values {name}"])
            if not count:
                continue
            self.filled[name] = self.filled.get(name, 0) + count
            if name not in candidates:
                continue
            numeric = int(summary[f"count {name}"])
            if name not in self.numeric:
                self.numeric[name] = numeric >= NUMERIC_SHARE * count
                if not self.numeric[name]:
                    continue
            if not numeric:
                continue
            self.numeric_cells[name] = self.numeric_cells.get(name, 0) + numeric
            low, high = float(summary[f"min {name}"]), float(summary[f"max {name}"])
            if name in self.extremes:
                low, high = min(low, self.extremes[name][0]), max(high, self.extremes[name][1])
            self.extremes[name] = (low, high)
            if numeric > SAMPLED:
                self.sampled = True
            self.numbers.setdefault(name, []).append(
                pl.Series(summary[f"sample {name}"], dtype=pl.Float64)
            )

    def _count_values(self, name: str, found: list[dict[str, Any]]) -> int:
        """Add a chunk's value counts (values stripped of surrounding blanks); returns how
        many of its cells were blank after all (those are not filled)."""
        counts = self.values.setdefault(name, {})
        blank = 0
        for item in found:
            value, n = item[name].strip(), item["count"]
            if not value:
                blank += n
            elif value in counts or len(counts) < TRACKED:
                counts[value] = counts.get(value, 0) + n
            else:
                # More distinct values than are tracked: keep what is known, count no further
                # (past here, a cell of blanks counts as filled; rare in such columns).
                self.overflow.add(name)
        return blank

    def result(self) -> dict[str, Any]:
        """What the upload keeps: per column filled, distinct, top values, numbers."""
        columns: dict[str, Any] = {}
        for name, filled in self.filled.items():
            counts = self.values.get(name, {})
            entry: dict[str, Any] = {
                "filled": filled,
                "distinct": len(counts),
                "distinct_exact": name not in self.overflow,
                "top": sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP],
            }
            numeric = self.numeric_cells.get(name, 0)
            if self.numeric.get(name) and numeric >= NUMERIC_SHARE * filled:
                values = pl.concat(self.numbers[name])
                entry["numbers"] = {
                    "count": numeric,
                    "min": self.extremes[name][0],
                    "max": self.extremes[name][1],
                    "median": float(values.median()),  # type: ignore[arg-type]
                    "median_exact": not self.sampled,
                }
            columns[name] = entry
        return {"rows": self.rows, "columns": columns}


def merge(uploads: list[dict[str, Any]]) -> dict[str, Any]:
    """A dataset's statistics from its uploads' (medians weighted by count: exact for one
    upload, approximate for several)."""
    rows = sum(stats.get("rows", 0) for stats in uploads)
    merged: dict[str, Any] = {}
    for stats in uploads:
        for name, entry in stats.get("columns", {}).items():
            into = merged.setdefault(
                name,
                {"filled": 0, "counts": {}, "exact": True, "numbers": [], "parts": 0},
            )
            into["filled"] += entry["filled"]
            into["parts"] += 1
            into["exact"] = into["exact"] and entry["distinct_exact"]
            for value, n in entry["top"]:
                into["counts"][value] = into["counts"].get(value, 0) + n
            into["distinct"] = max(into.get("distinct", 0), entry["distinct"])
            if "numbers" in entry:
                into["numbers"].append(entry["numbers"])
    out: dict[str, Any] = {}
    for name, into in merged.items():
        single = into["parts"] == 1
        numbers = into["numbers"]
        shown: dict[str, Any] = {
            "filled": into["filled"],
            "filled_share": into["filled"] / rows if rows else 0.0,
            "distinct": into["distinct"],
            # Several uploads: the largest upload's count is a lower bound.
            "distinct_exact": into["exact"] and single,
            "top": sorted(into["counts"].items(), key=lambda item: (-item[1], item[0]))[:TOP],
        }
        if numbers and sum(n["count"] for n in numbers) >= NUMERIC_SHARE * into["filled"]:
            shown["numbers"] = {
                "min": min(n["min"] for n in numbers),
                "max": max(n["max"] for n in numbers),
                "median": _weighted_median(numbers),
                "median_exact": single and numbers[0]["median_exact"],
            }
        out[name] = shown
    return {"rows": rows, "columns": out}


def _weighted_median(parts: list[dict[str, Any]]) -> float:
    ordered = sorted(parts, key=lambda part: part["median"])
    half = sum(part["count"] for part in ordered) / 2
    seen = 0
    for part in ordered:
        seen += part["count"]
        if seen >= half:
            return float(part["median"])
    return math.nan
