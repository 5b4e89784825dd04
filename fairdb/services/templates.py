"""Blank checklist templates (CSV and XLSX): header, a marked description row, nothing else."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from fairdb.checklists.model import Checklist


def _ordered_fields(checklist: Checklist) -> list[tuple[str, str]]:
    """(name, description) with required fields first, then recommended, then the rest."""
    fields = sorted(checklist.fields, key=lambda f: (not f.required, not f.recommended, f.name))
    rows = []
    for spec in fields:
        level = "required" if spec.required else "recommended" if spec.recommended else "optional"
        example = f" Example: {spec.example}" if spec.example else ""
        rows.append((spec.name, f"[{level}] {spec.description.strip()}{example}"))
    return rows


def template_csv(checklist: Checklist) -> str:
    fields = _ordered_fields(checklist)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([name for name, _ in fields])
    # The description row starts with '#': fairdb (and MIxS tools) skip it on upload.
    descriptions = [text for _, text in fields]
    descriptions[0] = "# " + descriptions[0]
    writer.writerow(descriptions)
    return buffer.getvalue()


def template_xlsx(checklist: Checklist) -> bytes:
    fields = _ordered_fields(checklist)
    workbook = Workbook()
    sheet = workbook.create_sheet("samples", 0)
    workbook.remove(workbook.worksheets[1])
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    for column, (name, text) in enumerate(fields, start=1):
        header = sheet.cell(row=1, column=column, value=name)
        header.font = bold
        if text.startswith("[required]"):
            header.fill = required_fill
        description = sheet.cell(row=2, column=column, value=("# " if column == 1 else "") + text)
        description.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[header.column_letter].width = 24
    sheet.freeze_panes = "A3"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
