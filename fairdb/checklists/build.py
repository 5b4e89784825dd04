"""Build fairdb's checklist JSON from the vendored MIxS files: `python -m fairdb.checklists.build`.

Only this module reads YAML (pyyaml is a development dependency); the app reads the JSON.
"""

from __future__ import annotations

import ast
import csv
import json
import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "mixs"
TARGET = HERE / "data"

CHECKLISTS = {
    "MimsHumanGut": "MIMS: metagenome or environmental sample from a human gut",
    "MimarksSHumanGut": "MIMARKS survey: marker-gene (16S/ITS) sample from a human gut",
}
CORE_FIELDS = {
    # name: required in the quick-start checklist
    "samp_name": True,
    "collection_date": True,
    "geo_loc_name": True,
    "lat_lon": False,
    "env_broad_scale": False,
    "env_local_scale": False,
    "env_medium": False,
    "samp_taxon_id": False,
    "seq_meth": False,
}
TERM_SYNTAX = {r"^{termLabel} \[{termID}\]$", r"^\S+.*\S+ \[[a-zA-Z]{2,}:\d+\]$"}
QUANTITY_SYNTAX = r"^{scientific_float}( *- *{scientific_float})? *{text}$"


def _literal(cell: str) -> Any:
    """TSV cells hold Python-literal dicts such as {'value': '...'}; plain text stays text."""
    if not cell:
        return None
    try:
        return ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        return cell


def expand(syntax: str, settings: dict[str, str]) -> str:
    """Replace {name} with the settings' regular expression, as a non-capturing group."""

    def replace(match: re.Match[str]) -> str:
        return f"(?:{settings[match.group(1)]})"

    return re.sub(r"\{([A-Za-z_]+)\}", replace, syntax)


def _kind(name: str, value_range: str, syntax: str | None, enum: list[str]) -> str:
    if name == "collection_date":
        return "date"
    if name == "lat_lon":
        return "lat_lon"
    if name == "geo_loc_name":
        return "geo_loc_name"
    if enum:
        return "enum"
    if value_range == "integer":
        return "integer"
    if value_range == "boolean":
        return "boolean"
    if syntax in TERM_SYNTAX:
        return "term"
    if syntax == QUANTITY_SYNTAX:
        return "quantity"
    if syntax:
        return "pattern"
    return "text"


def _field(row: dict[str, str], schema: dict[str, Any]) -> dict[str, Any]:
    settings = schema["settings"]
    structured = _literal(row["structured_pattern"])
    syntax = structured.get("syntax") if isinstance(structured, dict) else None
    syntax = syntax or row["pattern"] or None
    value_range = row["range"] or "string"
    enum_spec = schema["enums"].get(value_range) or {}
    enum = list((enum_spec.get("permissible_values") or {}).keys())
    examples = _literal(row["examples"])
    if isinstance(examples, dict):
        example = examples.get("value")
    elif isinstance(examples, list) and examples:
        example = examples[0].get("value") if isinstance(examples[0], dict) else str(examples[0])
    else:
        example = None
    kind = _kind(row["name"], value_range, syntax, enum)
    regex = None
    if kind in ("pattern", "term", "quantity") and syntax:
        regex = expand(syntax, settings)
        if not regex.startswith("^"):
            regex = "^" + regex
        if not regex.endswith("$"):
            regex += "$"
    return {
        "name": row["name"],
        "title": row["title"] or row["name"],
        "description": " ".join((row["description"] or "").split()),
        "example": example,
        "required": row["required"] == "True",
        "recommended": row["recommended"] == "True",
        "multivalued": row["multivalued"] == "True",
        "range": value_range,
        "enum": enum,
        "unit": row["Preferred_unit"] or None,
        "syntax": syntax,
        "regex": regex,
        "kind": kind,
    }


def _read(name: str, schema: dict[str, Any]) -> list[dict[str, Any]]:
    with (SOURCE / f"{name}.tsv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [_field(row, schema) for row in rows]


def build() -> list[Path]:
    import yaml

    schema = yaml.safe_load((SOURCE / "mixs.yaml").read_text(encoding="utf-8"))
    version = schema.get("version", "7.0.1")
    TARGET.mkdir(exist_ok=True)
    written = []
    fields_by_name: dict[str, dict[str, Any]] = {}
    for name, title in CHECKLISTS.items():
        fields = _read(name, schema)
        fields_by_name.update({f["name"]: f for f in fields})
        written.append(_write(name, title, fields, version))
    core = []
    for field_name, required in CORE_FIELDS.items():
        field = dict(fields_by_name[field_name])
        field["required"] = required
        field["recommended"] = not required
        core.append(field)
    written.append(_write("core", "Core: the few fields every sample should have", core, version))
    return written


def _write(name: str, title: str, fields: list[dict[str, Any]], version: str) -> Path:
    path = TARGET / f"{name}.json"
    body = {"name": name, "title": title, "mixs_version": version, "fields": fields}
    path.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    for written_path in build():
        print(f"wrote {written_path.relative_to(HERE.parent.parent)}")
