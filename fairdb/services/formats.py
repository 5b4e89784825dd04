"""Streaming download writers: a header and rows become CSV, TSV, XLSX or JSON bytes.

CSV, TSV and JSON are yielded in pieces of about 64 KiB as the rows arrive, in constant memory;
an XLSX is built in a temporary file (on disk past 8 MiB) and then read out in such pieces.
`zip_bundle` streams several downloads as one ZIP. Formula-like text is escaped except in JSON."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# Also text that already starts with apostrophes before such a character, so that removing one
# apostrophe on upload always gives back exactly what was stored.
FORMULA_LIKE = re.compile(r"^'*[=+\-@\t\r]")
NUMBER = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


def escape_cell(value: str) -> str:
    """A leading apostrophe for text a spreadsheet would run as a formula; numbers untouched."""
    if FORMULA_LIKE.match(value) and not NUMBER.match(value):
        return "'" + value
    return value


Cell = str | int | float | None

CHUNK = 64 * 1024
# An XLSX is built in full before its first byte can be sent; past this size it waits on disk.
SPOOL_SIZE = 8 * 1024 * 1024


@dataclass(frozen=True)
class Format:
    """A download format: its name, file extension and HTTP media type."""

    name: str
    extension: str
    media_type: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("csv", ".csv", "text/csv; charset=utf-8"),
        Format("tsv", ".tsv", "text/tab-separated-values; charset=utf-8"),
        Format(
            "xlsx", ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        ),
        Format("json", ".json", "application/json"),
    )
}


def stream_rows(
    header: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    fmt: str,
    *,
    sheet: str = "samples",
) -> Iterator[bytes]:
    """The download's bytes in pieces of about 64 KiB; `sheet` names the XLSX worksheet.

    An unknown format raises ValueError at once; a row whose length differs from the header's
    raises ValueError when the stream reaches it.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}, expected one of {', '.join(FORMATS)}")
    checked = _checked(header, rows)
    if fmt == "xlsx":
        return _xlsx(header, checked, sheet)
    if fmt == "json":
        return _json(header, checked)
    return _delimited(header, checked, "\t" if fmt == "tsv" else ",")


def _checked(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[Sequence[Cell]]:
    # A short row would shift cells under the wrong column in CSV and lose keys in JSON.
    for number, row in enumerate(rows, start=1):
        if len(row) != len(header):
            raise ValueError(f"row {number} has {len(row)} cells, the header {len(header)}")
        yield row


def _delimited(
    header: Sequence[str], rows: Iterable[Sequence[Cell]], delimiter: str
) -> Iterator[bytes]:
    """CSV (or TSV) with minimal quoting, LF line ends, UTF-8 without BOM.

    The csv module writes None as an empty cell, floats with repr() and ints with str().
    """
    buffer = io.StringIO()
    minimal = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    # With LF line ends the csv module leaves a lone CR unquoted, and a reader then splits the
    # row there: a row holding one is written with every field quoted.
    quoted = csv.writer(buffer, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
    # The header goes out as given, like export.py: the upload reader unescapes data cells only.
    (quoted if any("\r" in name for name in header) else minimal).writerow(header)
    for row in rows:
        cells = [escape_cell(value) if isinstance(value, str) else value for value in row]
        if any("\r" in value for value in row if isinstance(value, str)):
            quoted.writerow(cells)
        else:
            minimal.writerow(cells)
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _json_value(value: Cell) -> Cell:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[bytes]:
    """A JSON array of objects keyed by the header (a repeated name keeps its last cell)."""
    keys = list(header)
    # One encoder for all rows: json.dumps with options builds a new one per call.
    encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
    buffer = io.StringIO()
    buffer.write("[")
    separator = ""
    for row in rows:
        record = dict(zip(keys, row, strict=True))
        try:
            text = encode(record)
        except ValueError:  # NaN or infinity, which JSON cannot write: null
            text = encode({key: _json_value(value) for key, value in record.items()})
        buffer.write(separator)
        buffer.write(text)
        separator = ",\n"
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    buffer.write("]")
    yield buffer.getvalue().encode()


def _xlsx_cell(sheet: Any, value: Cell, *, escape: bool = True) -> Any:
    """A value for a write-only sheet: numbers as numbers, all text as string cells.

    openpyxl would turn text starting with "=" into a formula and "#N/A" into an error, so text
    gets an explicit string cell. XML cannot hold control characters other than tab, LF and CR:
    they are dropped before escaping, so the escape sees the text the sheet shows.
    """
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        value = str(value)  # Excel has no NaN or infinity: show the CSV's text
    elif not isinstance(value, str):
        return value
    elif escape:
        value = escape_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
    else:
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"
    return cell


def _xlsx(header: Sequence[str], rows: Iterable[Sequence[Cell]], title: str) -> Iterator[bytes]:
    """One write-only worksheet, saved to a spooled temporary file, then read out in pieces."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_SIZE) as spool:
        try:
            sheet.append([_xlsx_cell(sheet, name, escape=False) for name in header])
            for row in rows:
                sheet.append([_xlsx_cell(sheet, value) for value in row])
            workbook.save(spool)
        except BaseException:
            _discard(sheet)
            raise
        spool.seek(0)
        while piece := spool.read(CHUNK):
            yield piece


def _discard(sheet: Any) -> None:
    """Remove openpyxl's temporary sheet file after a failure (saving removes it otherwise).

    openpyxl only deletes it when the process exits, so a long-running worker would keep one
    file per failed download.
    """
    writer = sheet._writer
    if writer is None:
        return
    try:
        if sheet._rows is not None:
            sheet._rows.close()
        writer.close()
    finally:
        writer.cleanup()


class _Sink:
    """A write-only, non-seekable file that keeps what was written until it is taken."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes, /) -> int:
        self.data += data
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        piece = bytes(self.data)
        self.data.clear()
        return piece


def zip_bundle(members: Iterable[tuple[str, Iterable[bytes]]]) -> Iterator[bytes]:
    """A deflated ZIP of (name, pieces) members, each streamed in turn, in pieces of ~64 KiB.

    Nothing is seeked back: sizes and checksums follow each member in a ZIP64 data descriptor.
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # else unzip creates files nobody may read
            with archive.open(info, "w", force_zip64=True) as member:
                for piece in content:
                    member.write(piece)
                    if len(sink.data) >= CHUNK:
                        yield sink.take()
            if sink.data:
                yield sink.take()
    if sink.data:
        yield sink.take()
