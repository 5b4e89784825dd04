"""Reading the files researchers actually have: encodings, delimiters, comments, XLSX cells."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook

from fairdb.services.tables import TableError, open_table
from tests.uploads_helpers import GOOD, csv_bytes, rows


def read_all(path, name="samples.csv"):
    with open_table(path, name) as table:
        frames = list(table.chunks(rows=1000))
        return table.info, [r for f in frames for r in f.iter_rows(named=True)]


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("cp1252", "cp1252")],
)
def test_encodings_are_detected_and_text_survives(tmp_path, encoding, expected):
    text = csv_bytes(rows(2, geo_loc_name="Côte d'Ivoire: Abidjan, Cocody")).decode()
    path = tmp_path / "s.csv"
    path.write_bytes(text.encode(encoding))
    info, cells = read_all(path)
    assert info.encoding == expected
    assert info.headers[0] == "samp_name"
    place = info.headers.index("geo_loc_name")
    assert cells[0][f"c{place}"] == "Côte d'Ivoire: Abidjan, Cocody"


@pytest.mark.parametrize(("delimiter", "kind"), [("\t", "tsv"), (";", "csv"), (",", "csv")])
def test_delimiters(tmp_path, delimiter, kind):
    path = tmp_path / "s.txt"
    path.write_bytes(csv_bytes(rows(3), delimiter=delimiter))
    info, cells = read_all(path)
    assert info.format == kind
    assert len(cells) == 3
    assert cells[2]["c0"] == "S3"


def test_comments_description_row_and_row_numbers(tmp_path):
    body = csv_bytes(rows(2)).decode().splitlines()
    lines = [
        "# MIxS template",
        "# fill one row per sample",
        body[0],
        "#description," + ",".join(["text"] * (len(GOOD) - 1)),
        body[1],
        "",
        body[2],
    ]
    path = tmp_path / "s.csv"
    path.write_text("\n".join(lines) + "\n")
    info, cells = read_all(path)
    assert info.header_row == 3
    assert [c["__row"] for c in cells] == [5, 7]  # the blank line 6 is skipped, not renumbered


def test_qiime_style_sample_id_header(tmp_path):
    path = tmp_path / "s.tsv"
    path.write_text("#SampleID\tcollection_date\nS1\t2020-01-01\n")
    info, cells = read_all(path)
    assert info.headers == ["SampleID", "collection_date"]
    assert cells[0]["c0"] == "S1"


def test_quoted_newlines_stay_in_their_cell_and_rows_count_as_records(tmp_path):
    records = rows(3)
    records[0]["samp_size"] = "2 gram\n(second line)"
    path = tmp_path / "s.csv"
    path.write_bytes(csv_bytes(records))
    info, cells = read_all(path)
    assert [c["__row"] for c in cells] == [2, 3, 4]
    size = info.headers.index("samp_size")
    assert cells[0][f"c{size}"] == "2 gram\n(second line)"


def test_blocks_split_only_between_records(tmp_path):
    records = rows(3000, samp_size=lambda n: f'{n} gram "quoted"\nnext line, with comma')
    path = tmp_path / "s.csv"
    path.write_bytes(csv_bytes(records))
    with open_table(path, "s.csv") as table:
        frames = list(table.chunks(rows=50))  # 1 MB blocks: several of them
    got = [r for f in frames for r in f.iter_rows(named=True)]
    assert len(got) == 3000
    assert [r["c0"] for r in got] == [f"S{n}" for n in range(1, 3001)]
    assert got[-1]["__row"] == 3001


def test_xlsx_cells_come_back_as_the_text_researchers_typed(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["samp_name", "collection_date", "host_age", "host_body_mass_index"])
    sheet.append(["S1", dt.datetime(2020, 12, 31), 45, 22.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    path = tmp_path / "upload"
    path.write_bytes(buffer.getvalue())
    info, cells = read_all(path, "samples.xlsx")
    assert info.format == "xlsx"
    assert [cells[0][f"c{i}"] for i in range(4)] == ["S1", "2020-12-31", "45", "22.5"]
    assert cells[0]["__row"] == 2


def test_a_header_without_rows(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(",".join(GOOD) + "\n\n")
    with pytest.raises(TableError) as raised:
        open_table(path, "s.csv")
    assert raised.value.code == "no_rows"
    assert "no samples below it" in raised.value.message
