"""Checklists and their fields, loaded from the JSON that build.py generates from MIxS."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
DEFAULT_CHECKLIST = "MimsHumanGut"


@dataclass(frozen=True)
class Field:
    """One column of a checklist, with what the standard says a value must look like."""

    name: str
    title: str
    description: str
    example: str | None
    required: bool
    recommended: bool
    multivalued: bool
    range: str
    kind: str
    enum: tuple[str, ...] = ()
    unit: str | None = None
    syntax: str | None = None
    regex: str | None = None
    pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Checklist:
    name: str
    title: str
    mixs_version: str
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no field {name!r}")

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.fields]

    @property
    def required(self) -> list[str]:
        return [spec.name for spec in self.fields if spec.required]


def checklist_names() -> list[str]:
    return sorted(path.stem for path in DATA.glob("*.json"))


@cache
def get_checklist(name: str) -> Checklist:
    path = DATA / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"Unknown checklist {name!r}: choose one of {', '.join(checklist_names())}")
    body = json.loads(path.read_text(encoding="utf-8"))
    fields = []
    for spec in body["fields"]:
        regex = spec.get("regex")
        fields.append(
            Field(
                name=spec["name"],
                title=spec["title"],
                description=spec["description"],
                example=spec.get("example"),
                required=spec["required"],
                recommended=spec["recommended"],
                multivalued=spec["multivalued"],
                range=spec["range"],
                kind=spec["kind"],
                enum=tuple(spec.get("enum") or ()),
                unit=spec.get("unit"),
                syntax=spec.get("syntax"),
                regex=regex,
                pattern=re.compile(regex, re.DOTALL) if regex else None,
            )
        )
    return Checklist(body["name"], body["title"], body.get("mixs_version", ""), tuple(fields))
