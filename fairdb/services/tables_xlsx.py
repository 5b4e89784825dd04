"""XLSX uploads: refuse zip bombs and absurd sheets before unpacking, then stream the rows."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MAX_RATIO = 100
PREFERRED_SHEETS = ("samples", "sample", "mixs", "metadata")
DIMENSION = re.compile(rb'<dimension ref="[A-Z]+[0-9]+:([A-Z]+)[0-9]+"')

SAMPLE_ID_HEADERS = {"sampleid", "sample_id", "sample id", "samp_name", "sample_name", "sample"}
# A '#' row starting with one of these is a header (QIIME and BIOM-derived tables), not a comment.
HASH_HEADERS = SAMPLE_ID_HEADERS | {"otu id", "otuid", "feature id", "featureid", "asv", "asv id"}


def _error(message: str, fix: str, code: str, **extra: Any) -> Exception:
    from fairdb.services.tables import TableError

    return TableError(message, fix, code=code, **extra)


def _letters_to_number(letters: bytes) -> int:
    number = 0
    for char in letters:
        number = number * 26 + (char - 64)
    return number


def check_zip(path: Path, max_uncompressed: int, max_columns: int) -> tuple[str, list[str], int]:
    """Check the archive's directory, pick the sheet, and read its header row."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise _error(
            "This file looks like an XLSX workbook but is damaged.",
            "Open it in your spreadsheet program and save it again as XLSX or CSV.",
            "bad_xlsx",
        ) from error
    with archive:
        members = archive.infolist()
        names = {member.filename for member in members}
        if "xl/workbook.xml" not in names:
            raise _error(
                "This file is a ZIP archive, not a spreadsheet.",
                "Upload the sample sheet itself as CSV, TSV or XLSX.",
                "not_a_table",
                status=415,
            )
        total = sum(member.file_size for member in members)
        for member in members:
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > 10_000_000 and ratio > MAX_RATIO:
                raise _error(
                    f"The workbook part {member.filename} would expand {ratio:,.0f} times "
                    f"(to {member.file_size:,} bytes): this looks like a zip bomb.",
                    "Save the sheet as CSV and upload that instead.",
                    "zip_bomb",
                )
        if total > max_uncompressed:
            raise _error(
                f"The workbook would unpack to {total:,} bytes; the limit is {max_uncompressed:,}.",
                "Save the sheet as CSV and upload that instead.",
                "zip_bomb",
            )
        for member in members:
            if member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml"):
                with archive.open(member) as sheet:
                    head = sheet.read(4096)
                found = DIMENSION.search(head)
                if found and _letters_to_number(found.group(1)) > max_columns:
                    raise _error(
                        f"The sheet {member.filename} spans {_letters_to_number(found.group(1)):,} "
                        f"columns; at most {max_columns:,} are accepted.",
                        "Delete the unused columns, or save the sheet as CSV.",
                        "too_many_columns",
                    )
    sheet_name, header, header_row = _header(path, max_columns)
    return sheet_name, header, header_row


@contextmanager
def _workbook(path: Path) -> Iterator[Any]:
    """The workbook, opened from a file handle (openpyxl judges paths by their extension, and
    uploads are stored without one)."""
    from openpyxl import load_workbook

    with path.open("rb") as handle:
        try:
            workbook = load_workbook(handle, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds for broken files
            raise _error(
                f"The workbook could not be opened ({type(error).__name__}).",
                "Open it in your spreadsheet program and save it again as XLSX or CSV.",
                "bad_xlsx",
            ) from error
        try:
            yield workbook
        finally:
            workbook.close()


def _sheet(workbook: Any) -> Any:
    for sheet in workbook.worksheets:
        if sheet.title.strip().lower() in PREFERRED_SHEETS:
            return sheet
    return workbook.worksheets[0]


def _header(path: Path, max_columns: int) -> tuple[str, list[str], int]:
    with _workbook(path) as workbook:
        sheet = _sheet(workbook)
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [text(value) for value in row[: max_columns + 1]]
            while cells and cells[-1] in (None, ""):
                cells.pop()
            if not cells:
                continue
            first = (cells[0] or "").strip()
            if first.startswith("#") and first.lstrip("#").strip().lower() not in HASH_HEADERS:
                continue
            if len(cells) > max_columns:
                raise _error(
                    f"The header row has more than {max_columns:,} columns.",
                    "Delete the unused columns, or save the sheet as CSV.",
                    "too_many_columns",
                    row=number,
                )
            headers = [c or "" for c in cells]
            headers[0] = headers[0].lstrip("#") if first.startswith("#") else headers[0]
            return str(sheet.title), headers, number
    raise _error(
        "The workbook's first sheet is empty.",
        "Put the column names in the first row and one row per sample below.",
        "empty",
    )


def iter_xlsx_rows(path: Path, *, start: int) -> Iterator[tuple[int, list[str | None]]]:
    """(row number, cells as text) for every row from `start` on."""
    with _workbook(path) as workbook:
        sheet = _sheet(workbook)
        for number, row in enumerate(sheet.iter_rows(min_row=start, values_only=True), start):
            yield number, [text(value) for value in row]


def text(value: Any) -> str | None:
    """A cell as the text a researcher typed: dates as ISO, whole numbers without '.0'."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)
