"""Reading uploaded tables (CSV, TSV, XLSX) as chunks of text columns, and explaining bad files.

The format is decided by the content, never the extension. Text that is not UTF-8 (UTF-16 with a
byte-order mark, or Latin-1/CP1252) is transcoded into a temporary UTF-8 file first, because
polars reads only UTF-8. Rows are numbered as a spreadsheet shows them: comment lines, the header
and a description row count; a cell with line breaks inside quotes is one row.
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import polars as pl

from fairdb.services.tables_xlsx import HASH_HEADERS, check_zip, iter_xlsx_rows

HEAD_BYTES = 1 << 16
MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls file (or a password-protected workbook)",
    b"BZh": "a bzip2 archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"Rar!": "a RAR archive",
}


class TableError(ValueError):
    """A problem with the file as a whole: what is wrong, how to fix it, and where if known."""

    def __init__(
        self,
        message: str,
        fix: str,
        *,
        code: str,
        row: int | None = None,
        column: str | None = None,
        status: int = 400,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.code = code
        self.row = row
        self.column = column
        self.status = status


@dataclass(frozen=True)
class TableInfo:
    format: str
    encoding: str
    headers: list[str]
    header_row: int
    first_data_row: int
    sheet: str | None = None


def _sniff_encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise TableError(
            "This file contains binary data, not text: it is not a CSV, TSV or XLSX table.",
            "Export the sheet from your spreadsheet program as CSV (UTF-8) or XLSX.",
            code="not_a_table",
            status=415,
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while block := handle.read(1 << 22):
                # ASCII is valid UTF-8: skip the decoder unless it holds part of a character.
                if not (block.isascii() and not decoder.getstate()[0]):
                    decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _transcode(path: Path, encoding: str) -> Path:
    """A UTF-8 copy of a file in another encoding, written in a stream."""
    target = Path(tempfile.mkstemp(prefix="fairdb-utf8-", suffix=".csv", dir=path.parent)[1])
    # CP1252 leaves five bytes undefined; they become U+FFFD rather than an error.
    errors = "strict" if encoding != "cp1252" else "replace"
    reader = codecs.getreader(encoding)
    try:
        with path.open("rb") as raw, target.open("w", encoding="utf-8", newline="") as out:
            text = reader(raw, errors)
            while block := text.read(1 << 20):
                out.write(block.lstrip("\ufeff") if out.tell() == 0 else block)
    except UnicodeDecodeError as error:
        target.unlink(missing_ok=True)
        raise TableError(
            f"The file claims to be {encoding} but is not readable as such ({error.reason}).",
            "Save the file again as CSV UTF-8 from your spreadsheet program.",
            code="bad_encoding",
        ) from error
    return target


def _header_position(lines: list[str], delimiter: str | None) -> tuple[int, str]:
    """Index of the header line among the first lines, and the delimiter."""
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            first = stripped.lstrip("#").split("\t")[0].split(",")[0].split(";")[0]
            if first.strip().lower() not in HASH_HEADERS:
                continue  # a comment line, as MIxS templates and QIIME write them
        found = delimiter or _delimiter(line)
        return index, found
    raise TableError(
        "This file has no header row: it is empty or holds only comment lines.",
        "Put the column names (samp_name, collection_date, ...) in the first row.",
        code="empty",
    )


def _delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in ("\t", ",", ";")}
    if counts["\t"]:
        return "\t"
    return "," if counts[","] >= counts[";"] else ";"


def column_name(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def check_headers(headers: list[str], header_row: int, max_columns: int) -> None:
    if len(headers) > max_columns:
        raise TableError(
            f"The header row has {len(headers):,} columns; at most {max_columns:,} are accepted.",
            "Remove empty or unrelated columns; a MIxS sheet needs well under a hundred.",
            code="too_many_columns",
            row=header_row,
        )
    seen: dict[str, int] = {}
    for position, header in enumerate(headers):
        key = header.strip().lower()
        if not key:
            continue
        if key in seen:
            raise TableError(
                f"Columns {column_name(seen[key])} and {column_name(position)} are both named "
                f"'{header.strip()}'.",
                "Give every column its own name, or delete the duplicate.",
                code="duplicate_header",
                row=header_row,
                column=header.strip(),
            )
        seen[key] = position


class Table:
    """An open upload; use as a context manager so temporary files are removed."""

    def __init__(
        self,
        path: Path,
        info: TableInfo,
        *,
        skip: int,
        delimiter: str,
        temporary: Path | None,
        max_cell_chars: int,
    ) -> None:
        self.path = path
        self.info = info
        self.skip = skip
        self.delimiter = delimiter
        self.temporary = temporary
        self.max_cell_chars = max_cell_chars

    def __enter__(self) -> Table:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.temporary is not None:
            self.temporary.unlink(missing_ok=True)
            self.temporary = None

    def chunks(
        self, rows: int = 100_000, *, numeric: set[int] | None = None
    ) -> Iterator[pl.DataFrame]:
        """Frames of columns c0..cN (strings, null when empty) plus `__row`, the spreadsheet
        row number; blank rows and marked description rows are left out. Columns in `numeric`
        are parsed as Float64 where a whole block allows it (plain numbers or empty cells), and
        come as strings otherwise, so the caller can say exactly which cell is not a number."""
        if self.info.format == "xlsx":
            yield from self._xlsx_chunks(rows)
            return
        width = len(self.info.headers)
        schema = {f"c{i}": pl.String for i in range(width)} | {"__extra": pl.String}
        typed = schema | {f"c{i}": pl.Float64 for i in numeric or ()}
        # Parsing takes several times a block's size in memory: parse blocks of about a
        # quarter of `rows` rows and hand out about `rows` rows at a time.
        target = max(1 << 20, min(16 << 20, rows * 100))
        offset = 0
        parsed: list[pl.DataFrame] = []
        try:
            for block in _record_blocks(self.path, self.skip, target):
                try:
                    frame = self._parse(block, typed, offset)
                except pl.exceptions.ComputeError:
                    if typed is schema:
                        raise
                    frame = self._parse(block, schema, offset)  # a cell is not a number
                offset += frame.height
                parsed.append(self._tidy(frame, width))
                if sum(part.height for part in parsed) >= rows:
                    yield pl.concat(parsed, rechunk=False)
                    parsed = []
            if parsed:
                yield pl.concat(parsed, rechunk=False)
        except pl.exceptions.PolarsError as error:
            raise TableError(
                f"The file could not be read as {self.info.format.upper()}: {str(error)[:200]}",
                'Check for an unclosed quote (") in the rows around the problem, or save the '
                "file again as CSV UTF-8.",
                code="bad_csv",
            ) from error

    def _parse(self, block: bytes, schema: dict[str, Any], offset: int) -> pl.DataFrame:
        return pl.scan_csv(
            io.BytesIO(block),
            has_header=False,
            separator=self.delimiter,
            quote_char='"',
            schema=schema,
            missing_columns="insert",
            truncate_ragged_lines=True,
            row_index_name="__index",
            row_index_offset=offset,
        ).collect()

    def _tidy(self, frame: pl.DataFrame, width: int) -> pl.DataFrame:
        frame = frame.with_columns(
            (pl.col("__index").cast(pl.Int64) + self.info.first_data_row).alias("__row")
        ).drop("__index")
        ragged = frame.filter(pl.col("__extra").is_not_null() & (pl.col("__extra") != ""))
        if ragged.height:
            row = int(ragged["__row"][0])
            raise TableError(
                f"Row {row} has more cells than the header has columns ({width}).",
                "Remove the extra cells, or add a name for the extra column to the header row; "
                "a comma inside a value must be enclosed in double quotes.",
                code="ragged_row",
                row=row,
            )
        frame = frame.drop("__extra")
        schema = frame.schema
        cells = [f"c{i}" for i in range(width) if schema[f"c{i}"] == pl.String]
        numbers = [f"c{i}" for i in range(width) if schema[f"c{i}"] != pl.String]
        # A blank or marked row has a blank or marked first cell: look closer at those only.
        first = pl.col("c0")
        suspect = first.is_null() | (first.str.strip_chars() == "") | first.str.starts_with("#")
        suspects = frame.filter(suspect.fill_null(True))
        if suspects.height:
            blank = pl.all_horizontal(
                [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in cells]
                + [pl.col(c).is_null() for c in numbers]
            )
            marked = first.str.starts_with("#").fill_null(False)
            dropped = suspects.filter(blank | marked)["__row"]
            frame = frame.filter(~pl.col("__row").is_in(dropped.implode()))
        # Bytes bound characters from above: count characters only in a column that may be long.
        longest_bytes = frame.select([pl.col(c).str.len_bytes().max() for c in cells]).row(0)
        for column, most in zip(cells, longest_bytes, strict=True):
            if most is None or most <= self.max_cell_chars:
                continue
            position = int(column[1:])
            longest = frame[column].str.len_chars().max()
            if isinstance(longest, int) and longest > self.max_cell_chars:
                row = int(frame.filter(pl.col(column).str.len_chars() == longest)["__row"][0])
                raise TableError(
                    f"A cell in row {row}, column {self.info.headers[position]} holds "
                    f"{longest:,} characters; at most {self.max_cell_chars:,} are accepted.",
                    "Shorten the value; put long text in a linked document instead.",
                    code="cell_too_long",
                    row=row,
                    column=self.info.headers[position],
                )
        return frame

    def _xlsx_chunks(self, rows: int) -> Iterator[pl.DataFrame]:
        width = len(self.info.headers)
        buffer: list[list[str | None]] = []
        numbers: list[int] = []
        for number, values in iter_xlsx_rows(self.path, start=self.info.first_data_row):
            if len(values) > width and any(v not in (None, "") for v in values[width:]):
                raise TableError(
                    f"Row {number} has more cells than the header has columns ({width}).",
                    "Remove the extra cells, or name the extra column in the header row.",
                    code="ragged_row",
                    row=number,
                )
            cells = (values + [None] * width)[:width]
            if all(c is None or not str(c).strip() for c in cells):
                continue
            if cells[0] is not None and str(cells[0]).startswith("#"):
                continue
            buffer.append(cells)
            numbers.append(number)
            if len(buffer) >= rows:
                yield self._xlsx_frame(buffer, numbers, width)
                buffer, numbers = [], []
        if buffer:
            yield self._xlsx_frame(buffer, numbers, width)

    def _xlsx_frame(
        self, buffer: list[list[str | None]], numbers: list[int], width: int
    ) -> pl.DataFrame:
        frame = pl.DataFrame(
            {f"c{i}": [row[i] for row in buffer] for i in range(width)},
            schema={f"c{i}": pl.String for i in range(width)},
        )
        return self._tidy(
            frame.with_columns(
                pl.Series("__index", [n - self.info.first_data_row for n in numbers]),
                pl.lit(None, pl.String).alias("__extra"),
            ),
            width,
        )


def _record_blocks(path: Path, skip_lines: int, target: int) -> Iterator[bytes]:
    """The file after its first `skip_lines` lines, in blocks of about `target` bytes that end
    on a record boundary: a line break outside double quotes (CSV doubles a literal quote, so
    the parity of the quote count since the start tells inside from outside)."""
    with path.open("rb") as handle:
        for _ in range(skip_lines):
            handle.readline()
        carry = b""
        inside = False  # quote parity at the start of `carry`
        while True:
            data = handle.read(target)
            if not data:
                break
            block = carry + data if carry else data
            cut, quotes = _last_boundary(block, inside)
            if cut < 0:
                carry = block
                continue
            yield block[: cut + 1]
            inside = inside ^ (quotes % 2 == 1)
            carry = block[cut + 1 :]
        if carry:
            yield carry


def _last_boundary(block: bytes, inside: bool) -> tuple[int, int]:
    """Index of the last newline outside quotes (or -1), and the quotes before it."""
    position = len(block)
    quotes = block.count(b'"')
    while True:
        newline = block.rfind(b"\n", 0, position)
        if newline < 0:
            return -1, 0
        quotes -= block.count(b'"', newline, position)
        position = newline
        if inside ^ (quotes % 2 == 1):
            continue  # that newline is inside a quoted cell
        return newline, quotes


def open_table(
    path: Path,
    filename: str,
    *,
    max_columns: int = 1000,
    max_cell_chars: int = 1_000_000,
    max_xlsx_uncompressed: int = 1_000_000_000,
) -> Table:
    """Detect the format and encoding, find the header, and check it; raises TableError."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise TableError(
            "The file is empty.",
            "Upload the sheet with a header row and one row per sample.",
            code="empty",
        )
    if head.startswith(b"PK\x03\x04"):
        sheet, headers, header_row = check_zip(path, max_xlsx_uncompressed, max_columns)
        headers = [h.strip().lstrip("\ufeff") for h in headers]
        check_headers(headers, header_row, max_columns)
        info = TableInfo("xlsx", "xlsx", headers, header_row, header_row + 1, sheet)
        table = Table(
            path, info, skip=0, delimiter=",", temporary=None, max_cell_chars=max_cell_chars
        )
        _require_rows(table)
        return table
    for magic, what in MAGIC.items():
        if head.startswith(magic):
            raise TableError(
                f"This file is {what}, not a table (whatever its name, {filename}, says).",
                "Upload the sample sheet itself as CSV, TSV or XLSX.",
                code="not_a_table",
                status=415,
            )
    encoding = _sniff_encoding(path, head)
    source, temporary = path, None
    if encoding not in ("utf-8", "utf-8-sig"):
        temporary = source = _transcode(path, encoding)
        with source.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff")
    lines = text.splitlines()[:-1] or text.splitlines()
    index, delimiter = _header_position(lines, None)
    header_line = lines[index].lstrip("#") if lines[index].startswith("#") else lines[index]
    headers = [h.strip() for h in next(csv.reader(io.StringIO(header_line), delimiter=delimiter))]
    header_row = index + 1
    check_headers(headers, header_row, max_columns)
    kind = "tsv" if delimiter == "\t" else "csv"
    info = TableInfo(kind, encoding, headers, header_row, header_row + 1)
    table = Table(
        source,
        info,
        skip=index + 1,
        delimiter=delimiter,
        temporary=temporary,
        max_cell_chars=max_cell_chars,
    )
    _require_rows(table)
    return table


def _require_rows(table: Table) -> None:
    """A header without any sample row is an error worth saying plainly."""
    if table.info.format == "xlsx":
        if any(frame.height for frame in table.chunks(rows=1000)):
            return
    elif _has_data_line(table.path, table.skip, table.delimiter):
        return
    table.close()
    raise TableError(
        "The file has a header row but no samples below it.",
        "Add one row per sample under the header.",
        code="no_rows",
        row=table.info.header_row,
    )


def _has_data_line(path: Path, skip: int, delimiter: str) -> bool:
    """Whether a line after the header holds a cell: not blank, not only delimiters and quotes,
    not a '#' comment or description line (the rows Table.chunks leaves out). Reads only as far
    as the first such line."""
    with path.open("rb") as handle:
        for _ in range(skip):
            handle.readline()
        for raw in handle:
            line = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
            content = line.replace(delimiter, "").replace('"', "").strip()
            if content and not line.lstrip().lstrip('"').startswith("#"):
                return True
    return False
