"""Per-column statistics of a dataset's samples: how filled each column is, how many distinct
values it has, and its top values or, for numbers, min / median / max.

They are gathered while an upload is checked, from each chunk's cells as written (no rescan of
the stored rows), kept on the upload (`uploads.column_stats`), and merged per dataset when its
page is shown. Distinct counts stop being exact past `TRACKED` values; medians come from a
sample of each chunk's numbers past `SAMPLED` per chunk (marked approximate on the page).
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
        self.sampled = False

    def add(self, frame: pl.DataFrame) -> None:
        """A chunk of cells as written (text, null or empty for no value)."""
        self.rows += frame.height
        for name in frame.columns:
            if name.startswith("__"):
                continue
            column = frame[name]
            present = column.filter(column.is_not_null() & (column.str.strip_chars() != ""))
            if present.is_empty():
                continue
            self.filled[name] = self.filled.get(name, 0) + present.len()
            counts = self.values.setdefault(name, {})
            if name not in self.overflow:
                for value, n in present.value_counts().iter_rows():
                    if value in counts or len(counts) < TRACKED:
                        counts[value] = counts.get(value, 0) + n
                    else:
                        self.overflow.add(name)
            numbers = present.str.strip_chars().cast(pl.Float64, strict=False).drop_nulls()
            numbers = numbers.filter(numbers.is_finite())
            if numbers.is_empty():
                continue
            self.numeric_cells[name] = self.numeric_cells.get(name, 0) + numbers.len()
            low, high = float(numbers.min()), float(numbers.max())  # type: ignore[arg-type]
            if name in self.extremes:
                low, high = min(low, self.extremes[name][0]), max(high, self.extremes[name][1])
            self.extremes[name] = (low, high)
            if numbers.len() > SAMPLED:
                numbers = numbers.sample(SAMPLED, seed=len(self.numbers.get(name, [])))
                self.sampled = True
            self.numbers.setdefault(name, []).append(numbers)

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
            if numeric and numeric >= NUMERIC_SHARE * filled:
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
