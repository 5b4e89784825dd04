"""Error reports: grouped for reading, and as CSV for fixing a file row by row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

REPORT_FIELDS = ("row", "column", "value", "code", "message", "fix")


@dataclass
class Finding:
    """One kind of mistake in one column, however many cells share it."""

    column: str | None
    code: str
    message: str
    fix: str
    value: str
    rows: list[int] = field(default_factory=list)
    count: int = 0

    @property
    def row_ranges(self) -> str:
        return describe_rows(self.rows, self.count)


def group_errors(errors: Iterable[dict[str, Any]]) -> list[Finding]:
    """One finding per (column, code): a whole column in the wrong format reads as one line."""
    findings: dict[tuple[str | None, str], Finding] = {}
    for error in errors:
        key = (error.get("column"), error["code"])
        finding = findings.get(key)
        if finding is None:
            finding = findings[key] = Finding(
                column=error.get("column"),
                code=error["code"],
                message=error["message"],
                fix=error["fix"],
                value=error.get("value") or "",
            )
        finding.count += 1
        if error.get("row") is not None:
            finding.rows.append(int(error["row"]))
    return sorted(findings.values(), key=lambda f: (min(f.rows, default=0), f.column or ""))


def describe_rows(rows: list[int], count: int) -> str:
    """Rows as compact ranges: 'rows 2-9, 14' (and how many more if the list was cut)."""
    if not rows:
        return ""
    ordered = sorted(set(rows))
    parts: list[str] = []
    start = previous = ordered[0]
    for row in ordered[1:]:
        if row == previous + 1:
            previous = row
            continue
        parts.append(f"{start}" if start == previous else f"{start}–{previous}")
        start = previous = row
    parts.append(f"{start}" if start == previous else f"{start}–{previous}")
    shown = parts[:8]
    text = ("row " if len(ordered) == 1 else "rows ") + ", ".join(shown)
    if len(parts) > len(shown):
        text += f" and {len(parts) - len(shown)} more ranges"
    if count > len(rows):
        text += f" (+{count - len(rows)} not listed)"
    return text


def report_csv(errors: Iterable[dict[str, Any]]) -> str:
    """The full report, one cell per line, for fixing a file in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=REPORT_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for error in errors:
        writer.writerow({key: _safe(error.get(key)) for key in REPORT_FIELDS})
    return buffer.getvalue()


def _safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in downloaded text (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
