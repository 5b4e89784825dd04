"""The records the privacy tools look at: one row per sample with its quasi-identifiers at
level 0 (built by the hierarchies from typed columns) and its sensitive attributes as cells,
read from a stored dataset by COPY, or from a file that has not become a dataset yet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select

from fairdb.checklists.bulk import validate_frame
from fairdb.checklists.columns import match_columns
from fairdb.checklists.model import get_checklist
from fairdb.models import Sample
from fairdb.services import bulk_export
from fairdb.services.ingest_columns import prepare_frame
from fairdb.services.privacy.hierarchies import (
    HIERARCHIES,
    SUGGESTED_SENSITIVE,
    Hierarchy,
    user_mapping,
)
from fairdb.services.privacy.risk import Sensitive
from fairdb.services.tables import open_table

# Sensitive attributes whose values have an order (t-closeness uses the ordered distance).
ORDERED = {"host_body_mass_index", "host_age"}


class ChoiceError(ValueError):
    """Quasi-identifiers or sensitive attributes that cannot be used, with the reason."""


@dataclass(frozen=True)
class Choice:
    """What to measure: quasi-identifiers (built-in hierarchies, or fields with the owner's own
    grouping of their values) and sensitive attributes (fields)."""

    quasi: tuple[str, ...]
    sensitive: tuple[str, ...]
    # field -> ((value, group), ...): quasi-identifiers generalised by the owner's grouping
    groupings: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    def attributes(self) -> list[Sensitive]:
        return [Sensitive(name, ordered=name in ORDERED) for name in self.sensitive]

    def hierarchies(self) -> dict[str, Hierarchy]:
        """Each quasi-identifier's hierarchy: built in, or the owner's grouping."""
        own = {
            name: user_mapping(name, dict(pairs), label=f"{name} (your grouping)")
            for name, pairs in self.groupings
        }
        return {name: own[name] if name in own else HIERARCHIES[name] for name in self.quasi}

    def grouped(self) -> list[str]:
        return [name for name, _ in self.groupings]


def parse_groupings(text: str) -> dict[str, dict[str, str]]:
    """The owner's groupings, one rule per line: `field: value = group`."""
    found: dict[str, dict[str, str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        field, colon, rule = line.partition(":")
        value, equals, group = rule.partition("=")
        if not (colon and equals and field.strip() and value.strip() and group.strip()):
            raise ChoiceError(
                f"Grouping line {number} ({line.strip()[:60]!r}): write it as "
                "'field: value = group', e.g. 'host_occupation: nurse = health care'."
            )
        found.setdefault(field.strip(), {})[value.strip()] = group.strip()
    return found


def choose(
    checklist_name: str,
    quasi: list[str],
    sensitive: list[str],
    groupings: dict[str, dict[str, str]] | None = None,
) -> Choice:
    """Check a choice against the hierarchies and the dataset's checklist; fields with a
    grouping of their own become quasi-identifiers too."""
    fields = {spec.name for spec in get_checklist(checklist_name).fields}
    groupings = groupings or {}
    for name in groupings:
        if name in HIERARCHIES:
            raise ChoiceError(f"{name!r} has a built-in hierarchy: tick it instead of grouping it.")
        if name not in fields:
            raise ChoiceError(f"{name!r} is not a field of the checklist {checklist_name}.")
    quasi = [*quasi, *groupings]
    unknown = [name for name in quasi if name not in HIERARCHIES and name not in groupings]
    if unknown:
        raise ChoiceError(
            f"No generalisation hierarchy for {unknown[0]!r}: choose among "
            f"{', '.join(HIERARCHIES)}."
        )
    if not quasi:
        raise ChoiceError("Choose at least one quasi-identifier.")
    wrong = [name for name in sensitive if name not in fields]
    if wrong:
        raise ChoiceError(f"{wrong[0]!r} is not a field of the checklist {checklist_name}.")
    both = set(quasi) & set(sensitive)
    if both:
        raise ChoiceError(f"{sorted(both)[0]!r} cannot be both quasi-identifier and sensitive.")
    own = tuple((name, tuple(sorted(rules.items()))) for name, rules in groupings.items())
    return Choice(tuple(dict.fromkeys(quasi)), tuple(dict.fromkeys(sensitive)), own)


def suggested(checklist_name: str) -> Choice:
    """The suggested choice, limited to what the checklist has."""
    fields = {spec.name for spec in get_checklist(checklist_name).fields}
    return Choice(
        tuple(HIERARCHIES),
        tuple(name for name in SUGGESTED_SENSITIVE if name in fields),
    )


def _sources(choice: Choice) -> list[str]:
    """The typed columns the built-in hierarchies read (grouped fields are read as cells)."""
    grouped = set(choice.grouped())
    built_in = [name for name in choice.quasi if name not in grouped]
    return sorted({c for name in built_in for c in HIERARCHIES[name].source_columns})


def _finish(raw: pl.DataFrame, choice: Choice, keep: list[str]) -> pl.DataFrame:
    """Level-0 quasi-identifiers from the typed columns; empty cells become missing values."""
    as_cells = [*choice.grouped(), *choice.sensitive]
    raw = raw.with_columns(
        pl.when(pl.col(name) == "").then(None).otherwise(pl.col(name)).alias(name)
        for name in as_cells
    )
    hierarchies = choice.hierarchies()
    return raw.select(
        *[pl.col(name) for name in keep],
        *[hierarchies[name].base() for name in choice.quasi],
        *[pl.col(name) for name in choice.sensitive],
    )


def dataset_records(dataset_id: int, choice: Choice, *, cells: Sequence[str] = ()) -> pl.DataFrame:
    """Every sample of a dataset (columns: id, the quasi-identifiers, the sensitive attributes
    and any further `cells`, as uploaded), in id order."""
    sources = _sources(choice)
    leading: dict[str, Any] = {"id": pl.Int64}
    leading.update({name: bulk_export.DTYPES.get(name, pl.String) for name in sources})
    statement = select(
        Sample.id.label("id"), *[getattr(Sample, name).label(name) for name in sources]
    ).where(Sample.dataset_id == dataset_id)
    wanted = list(dict.fromkeys([*choice.grouped(), *choice.sensitive, *cells]))
    raw = bulk_export.frame(statement.order_by(Sample.id), leading, wanted)
    extra = [name for name in cells if name not in choice.sensitive]
    return _finish(raw, choice, ["id", *extra])


@dataclass
class FileRecords:
    records: pl.DataFrame
    rows: int
    problems: int  # cells that do not pass the checklist (their typed values count as missing)


def file_records(path: Path, filename: str, checklist_name: str, choice: Choice) -> FileRecords:
    """A sample file's records, checked as an upload would be but stored nowhere."""
    checklist = get_checklist(checklist_name)
    parts: list[pl.DataFrame] = []
    rows = problems = 0
    with open_table(path, filename) as table:
        match = match_columns(table.info.headers, checklist)
        memo: dict[str, pl.DataFrame] = {}
        for raw in table.chunks(25_000):
            numbers = raw["__row"]
            frame, extras = prepare_frame(raw.drop("__row"), match, table.info.headers)
            checked = validate_frame(
                frame, checklist, extra_columns=extras, row_numbers=numbers, memo=memo
            )
            problems += checked.error_count
            rows += raw.height
            typed = checked.typed
            columns = [
                typed[name] if name in typed.columns else pl.Series(name, [None] * raw.height)
                for name in _sources(choice)
            ]
            cells = [
                frame[name].cast(pl.String)
                if name in frame.columns
                else pl.Series(name, [None] * raw.height, pl.String)
                for name in [*choice.grouped(), *choice.sensitive]
            ]
            parts.append(pl.DataFrame([*columns, *cells]))
    raw_all = pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()
    if raw_all.is_empty():
        raise ChoiceError("The file holds no samples.")
    return FileRecords(_finish(raw_all, choice, []), rows, problems)
