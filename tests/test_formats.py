"""Download writers: every format reads back as written, formulas are escaped, memory stays flat."""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import tempfile
import tracemalloc
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.worksheet import _writer as openpyxl_writer

from fairdb.services import formats
from fairdb.services.formats import FORMATS, Cell, escape_cell, stream_rows, zip_bundle

HEADER = ["samp_name", "site", "depth", "ph", "note"]
ROWS: list[list[Cell]] = [
    ["S1", "Zürich", 12, 7.25, "plain"],
    ["S2", "北京", -3, -0.5, 'a, "quoted"\nsecond line'],
    ["S3", None, 0, 1e-07, "tab\there; semi"],
    ["S4", "-3.5", 10**12, 1e300, "+1e3"],
]
# The same rows as CSV/TSV text: numbers as Python writes them, None empty.
ROWS_AS_TEXT = [
    ["S1", "Zürich", "12", "7.25", "plain"],
    ["S2", "北京", "-3", "-0.5", 'a, "quoted"\nsecond line'],
    ["S3", "", "0", "1e-07", "tab\there; semi"],
    ["S4", "-3.5", "1000000000000", "1e+300", "+1e3"],
]
FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"]


def download(header: list[str], rows: Iterable[Sequence[Cell]], fmt: str, **options: Any) -> bytes:
    return b"".join(stream_rows(header, rows, fmt, **options))


def read_delimited(data: bytes, fmt: str) -> list[list[str]]:
    text = io.StringIO(data.decode("utf-8"), newline="")
    return list(csv.reader(text, delimiter="\t" if fmt == "tsv" else ","))


def read_xlsx(data: bytes, sheet: str = "samples") -> list[list[tuple[Any, str]]]:
    """(value, data_type) of every cell; rows padded, since empty trailing cells are not stored."""
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    try:
        assert workbook.sheetnames == [sheet]
        rows = [[(c.value, c.data_type) for c in row] for row in workbook[sheet].iter_rows()]
    finally:
        workbook.close()
    width = max(len(row) for row in rows)
    return [row + [(None, "n")] * (width - len(row)) for row in rows]


def test_formats_name_their_extension_and_media_type() -> None:
    assert {name: (f.extension, f.media_type) for name, f in FORMATS.items()} == {
        "csv": (".csv", "text/csv; charset=utf-8"),
        "tsv": (".tsv", "text/tab-separated-values; charset=utf-8"),
        "xlsx": (
            ".xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        "json": (".json", "application/json"),
    }
    assert all(name == f.name for name, f in FORMATS.items())


def test_csv_and_tsv_bytes_are_minimal_utf8_with_newlines() -> None:
    rows: list[list[Cell]] = [[1, 2.5], [None, "x,y"], ["Zürich", 'say "hi"']]
    assert download(["a", "b"], rows, "csv") == (
        'a,b\n1,2.5\n,"x,y"\nZürich,"say ""hi"""\n'.encode()
    )
    assert download(["a", "b"], rows, "tsv") == (
        'a\tb\n1\t2.5\n\tx,y\nZürich\t"say ""hi"""\n'.encode()
    )


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_delimited_round_trip(fmt: str) -> None:
    data = download(HEADER, ROWS, fmt)
    assert not data.startswith(codecs.BOM_UTF8)
    assert b"\r" not in data
    assert read_delimited(data, fmt) == [HEADER, *ROWS_AS_TEXT]


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_delimited_keeps_a_carriage_return_inside_its_cell(fmt: str) -> None:
    data = download(["a", "b"], [["one\rtwo", 3], ["next", None]], fmt)
    assert read_delimited(data, fmt) == [["a", "b"], ["one\rtwo", "3"], ["next", ""]]


def test_xlsx_round_trip() -> None:
    cells = read_xlsx(download(HEADER, ROWS, "xlsx"))
    assert [value for value, _ in cells[0]] == HEADER
    assert [[value for value, _ in row] for row in cells[1:]] == ROWS
    text_types = {kind for row in cells for value, kind in row if isinstance(value, str)}
    number_types = {kind for row in cells for value, kind in row if isinstance(value, int | float)}
    assert (text_types, number_types) == ({"s"}, {"n"})


def test_xlsx_sheet_can_be_named() -> None:
    cells = read_xlsx(download(["a"], [["x"]], "xlsx", sheet="abundance"), sheet="abundance")
    assert cells == [[("a", "s")], [("x", "s")]]


def test_xlsx_text_is_never_a_formula_or_an_error() -> None:
    data = download(["=total"], [["=1+1"], ["#N/A"], ["=SUM(A1:A2)"]], "xlsx")
    assert read_xlsx(data) == [
        [("=total", "s")],
        [("'=1+1", "s")],
        [("#N/A", "s")],
        [("'=SUM(A1:A2)", "s")],
    ]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet
    assert b"<f " not in sheet


def test_xlsx_writes_what_excel_cannot_hold_as_text() -> None:
    row: list[Cell] = [float("nan"), float("-inf"), "bell\x07 and\x01 nul\x00"]
    assert read_xlsx(download(["a", "b", "c"], [row], "xlsx"))[1] == [
        ("nan", "s"),
        ("-inf", "s"),
        ("bell and nul", "s"),
    ]


@pytest.mark.parametrize("start", FORMULA_STARTS)
@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_delimited_escapes_formula_like_text(fmt: str, start: str) -> None:
    text = start + 'HYPERLINK("http://example.com","x")'
    assert read_delimited(download(["a"], [[text]], fmt), fmt)[1] == ["'" + text]


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_xlsx_escapes_formula_like_text(start: str) -> None:
    text = start + 'HYPERLINK("http://example.com","x")'
    # XML turns a carriage return into a line feed on reading; the apostrophe still leads.
    expected = ("'" + text).replace("\r", "\n")
    assert read_xlsx(download(["a"], [[text]], "xlsx"))[1] == [(expected, "s")]


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_json_keeps_formula_like_text(start: str) -> None:
    text = start + "1+1"
    assert json.loads(download(["a"], [[text]], "json")) == [{"a": text}]


@pytest.mark.parametrize("fmt", ["csv", "tsv", "xlsx"])
def test_numbers_and_number_text_are_not_escaped(fmt: str) -> None:
    row: list[Cell] = [-3, -0.5, "-3.5", "+1e3", "-2"]
    header = ["a", "b", "c", "d", "e"]
    data = download(header, [row], fmt)
    if fmt == "xlsx":
        assert [value for value, _ in read_xlsx(data)[1]] == row
    else:
        assert read_delimited(data, fmt)[1] == ["-3", "-0.5", "-3.5", "+1e3", "-2"]


def test_json_round_trip() -> None:
    data = download(HEADER, ROWS, "json")
    assert json.loads(data) == [dict(zip(HEADER, row, strict=True)) for row in ROWS]
    assert "Zürich".encode() in data
    assert "北京".encode() in data
    assert data.startswith(b"[{")
    assert data.count(b"},\n{") == len(ROWS) - 1


def test_json_writes_nan_and_infinity_as_null() -> None:
    data = download(["a", "b", "c"], [[float("nan"), float("inf"), 1.5]], "json")
    assert json.loads(data) == [{"a": None, "b": None, "c": 1.5}]


@pytest.mark.parametrize("fmt", ["csv", "tsv", "xlsx", "json"])
def test_no_rows_gives_the_header_alone(fmt: str) -> None:
    data = download(HEADER, [], fmt)
    if fmt == "json":
        assert data == b"[]"
    elif fmt == "xlsx":
        assert read_xlsx(data) == [[(name, "s") for name in HEADER]]
    else:
        assert read_delimited(data, fmt) == [HEADER]


@pytest.mark.parametrize("fmt", ["csv", "tsv", "xlsx", "json"])
def test_a_row_of_the_wrong_length_is_refused(fmt: str) -> None:
    with pytest.raises(ValueError, match="row 2 has 1 cells, the header 2"):
        download(["a", "b"], [["1", "2"], ["3"]], fmt)


def test_an_unknown_format_is_refused_before_streaming() -> None:
    with pytest.raises(ValueError, match="unknown format 'ods'"):
        stream_rows(["a"], [], "ods")


def generated_rows(count: int) -> Iterator[tuple[Cell, ...]]:
    for number in range(count):
        yield (f"S{number}", "Zürich", number, number / 7, None, "-3.5", "=x", 'a, "b"', -1, "ok")


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json"])
def test_memory_stays_flat_over_60000_rows(fmt: str) -> None:
    header = [f"column_{i}" for i in range(10)]
    size = pieces = largest = 0
    tracemalloc.start()
    try:
        for piece in stream_rows(header, generated_rows(60_000), fmt):
            size += len(piece)
            pieces += 1
            largest = max(largest, len(piece))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > 3_000_000  # twice the allowed peak: the output was never held whole
    assert peak < 1_500_000
    assert pieces > 40  # streamed in pieces of about 64 KiB
    assert largest < 256 * 1024


def test_xlsx_temporary_file_is_closed_when_the_download_stops_early(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[Any] = []
    spooled = tempfile.SpooledTemporaryFile

    def spy(*args: Any, **kwargs: Any) -> Any:
        opened.append(spooled(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(formats.tempfile, "SpooledTemporaryFile", spy)
    pieces = stream_rows(HEADER, ROWS, "xlsx")
    assert next(pieces).startswith(b"PK")
    assert not opened[0].closed
    pieces.close()
    assert opened[0].closed


def test_xlsx_failure_midway_leaves_no_temporary_sheet_file() -> None:
    before = list(openpyxl_writer.ALL_TEMP_FILES)

    def failing() -> Iterator[list[Cell]]:
        yield from ROWS
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="database went away"):
        b"".join(stream_rows(HEADER, failing(), "xlsx"))
    leftover = set(openpyxl_writer.ALL_TEMP_FILES) - set(before)
    assert not leftover


def test_zip_bundle_holds_each_member_byte_for_byte() -> None:
    readme = "Samples of the Zürich study.\nOne row per sample.\n".encode()
    data = b"".join(
        zip_bundle(
            [
                ("samples.csv", stream_rows(HEADER, ROWS, "csv")),
                ("README.txt", [readme[:10], readme[10:]]),
            ]
        )
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == ["samples.csv", "README.txt"]
        assert archive.read("samples.csv") == download(HEADER, ROWS, "csv")
        assert archive.read("README.txt") == readme
        infos = archive.infolist()
    assert {info.compress_type for info in infos} == {zipfile.ZIP_DEFLATED}


def test_zip_bundle_of_nothing_is_an_empty_archive() -> None:
    with zipfile.ZipFile(io.BytesIO(b"".join(zip_bundle([])))) as archive:
        assert archive.namelist() == []


def test_zip_bundle_memory_stays_flat_for_a_50_mb_member(tmp_path: Path) -> None:
    def member() -> Iterator[bytes]:
        for _ in range(50):
            yield os.urandom(1 << 20)  # incompressible: the archive is as large as the member

    path = tmp_path / "bundle.zip"
    tracemalloc.start()
    try:
        with path.open("wb") as out:
            for piece in zip_bundle([("big.bin", member())]):
                out.write(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert archive.getinfo("big.bin").file_size == 50 << 20


@st.composite
def text_tables(draw: st.DrawFn) -> tuple[list[str], list[list[str | None]]]:
    width = draw(st.integers(1, 4))
    cells = st.none() | st.text()
    rows = draw(st.lists(st.lists(cells, min_size=width, max_size=width), max_size=8))
    return [f"c{i}" for i in range(width)], rows


@settings(max_examples=300, deadline=None)
@given(text_tables())
def test_csv_gives_back_every_text_cell(table: tuple[list[str], list[list[str | None]]]) -> None:
    header, rows = table
    back = read_delimited(download(header, rows, "csv"), "csv")
    assert back[0] == header
    assert len(back) == len(rows) + 1
    for line, row in zip(back[1:], rows, strict=True):
        originals = ["" if cell is None else cell for cell in row]
        unescaped = [
            cell.removeprefix("'") if escape_cell(original) != original else cell
            for cell, original in zip(line, originals, strict=True)
        ]
        assert unescaped == originals
