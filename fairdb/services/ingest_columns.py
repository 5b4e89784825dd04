"""From a file's header to the checklist's fields: header problems, renaming, lat/lon joining."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from fairdb.checklists.bulk import combine_lat_lon
from fairdb.checklists.columns import ColumnMatch
from fairdb.checklists.model import Checklist
from fairdb.services.tables import column_name

if TYPE_CHECKING:
    from fairdb.services.ingest import Problem


def column_problems(match: ColumnMatch, checklist: Checklist, header_row: int) -> list[Problem]:
    """Problems with the header itself: each is reported once, at the header row."""
    from fairdb.services.ingest import Problem

    problems = []
    for name in match.missing_required:
        spec = checklist.field(name)
        example = f" e.g. {spec.example}" if spec.example else ""
        problems.append(
            Problem(
                header_row,
                name,
                "",
                "missing_column",
                f"The required column {name} ({spec.title}) is missing from the header.",
                f"Add a column named {name} and fill it for every sample,{example}; write "
                "'not collected' where a value is unknown.",
            )
        )
    for name, positions in match.duplicates:
        where = ", ".join(column_name(i) for i in positions)
        problems.append(
            Problem(
                header_row,
                name,
                "",
                "duplicate_column",
                f"Columns {where} all mean {name}.",
                "Keep one of these columns and delete or rename the others.",
            )
        )
    for position in match.blank:
        problems.append(
            Problem(
                header_row,
                column_name(position),
                "",
                "blank_header",
                f"Column {column_name(position)} has no name in the header row.",
                "Type the field name into the header cell, or delete the column if it is empty.",
            )
        )
    return problems


def prepare_frame(
    raw: pl.DataFrame, match: ColumnMatch, headers: list[str]
) -> tuple[pl.DataFrame, list[str]]:
    """Rename c0..cN to field names (unrecognised columns keep their header) and join lat/lon."""
    renames: dict[str, str] = {}
    extras: list[str] = []
    split = set(match.split_lat_lon or ())
    for position, header in enumerate(headers):
        column = f"c{position}"
        if position in match.fields:
            renames[column] = match.fields[position]
        elif position not in split and position not in match.blank:
            renames[column] = header
            extras.append(header)
    # Undo the apostrophe fairdb's downloads put before formula-like cells (see export.py),
    # only in the columns that have any cell starting with one.
    quoted = [
        c
        for c, any_quote in raw.select(pl.all().str.starts_with("'").any())
        .row(0, named=True)
        .items()
        if any_quote
    ]
    frame = raw.with_columns(
        [pl.col(c).str.replace(r"^'('*[=+\-@\t\r])", "$1") for c in quoted]
    ).rename(renames)
    if match.split_lat_lon is not None:
        lat, lon = match.split_lat_lon
        frame = combine_lat_lon(frame, f"c{lat}", f"c{lon}")
    drop = [c for c in frame.columns if c.startswith("c") and c not in renames.values()]
    return frame.drop([c for c in drop if c in {f"c{i}" for i in range(len(headers))}]), extras
