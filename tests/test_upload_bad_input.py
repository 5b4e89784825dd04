"""Every kind of bad file: a clear message naming row, column and fix, a 4xx, nothing stored."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook

from tests.conftest import sign_in
from tests.test_uploads import counts
from tests.uploads_helpers import GOOD, csv_bytes, rows, upload


@pytest.fixture
def send(client, create_dataset):
    dataset = create_dataset()
    sign_in(client, dataset.owner.email)

    def send(content: bytes, filename: str = "samples.csv"):
        response = upload(client, dataset.id, content, filename=filename)
        assert counts(dataset.id) == (0, 0), "a bad file stored something"
        return response.status_code, response.get_data(as_text=True)

    return send


def xlsx_bytes(records: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for record in records:
        sheet.append(record)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


HEADER = ",".join(GOOD)
LINE = csv_bytes([GOOD]).decode().splitlines()[1]


@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        (b"", 400, "empty"),
        (HEADER.encode() + b"\n", 400, "no samples"),
        (
            HEADER.replace("project_name", "").encode() + b"\n" + LINE.encode() + b"\n",
            422,
            "no name",
        ),
        (
            (HEADER + ",host_sex").encode() + b"\n" + (LINE + ",male").encode() + b"\n",
            400,
            "host_sex",
        ),
        ((HEADER + "\n" + LINE + "\n" + LINE + ",extra,cells\n").encode(), 400, "row 3"),
    ],
    ids=["empty", "header-only", "blank-header", "duplicate-header", "ragged-row"],
)
def test_malformed_tables(send, content, status, words):
    got, page = send(content)
    assert got == status
    assert words in page.lower() or words in page


def test_binary_junk_and_a_renamed_image(send):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20
    status, page = send(png, "samples.csv")
    assert status in (400, 415)
    assert "PNG" in page
    status, page = send(bytes(range(256)) * 50, "samples.tsv")
    assert status in (400, 415)


def test_an_extension_that_lies_is_read_by_content(send, client):
    status, _ = send(csv_bytes(rows(1, collection_date="2020-13-01")), "samples.xlsx")
    assert status == 422  # read as the CSV it is, then checked cell by cell


def test_xlsx_zip_bomb_is_refused_before_unpacking(send):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * 50_000_000 + b">")
    status, page = send(buffer.getvalue(), "bomb.xlsx")
    assert status == 400
    assert "zip" in page.lower() or "compress" in page.lower()


def test_xlsx_with_too_many_columns(send):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([f"col{i}" for i in range(2_000)])
    sheet.append(["x"] * 2_000)
    buffer = io.BytesIO()
    workbook.save(buffer)
    status, page = send(buffer.getvalue(), "wide.xlsx")
    assert status == 400
    assert "columns" in page


def test_a_file_over_the_size_limit_is_413(app, client, create_dataset):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    dataset = create_dataset()
    sign_in(client, dataset.owner.email)
    response = upload(client, dataset.id, csv_bytes(rows(200)))
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True).lower()
    assert counts(dataset.id) == (0, 0)


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("collection_date", "31/12/2020", "2020-12-31"),
        ("collection_date", "2020-13-01", "month"),
        ("lat_lon", "45.1 999", "999"),
        ("collection_date", "2020-12-31\x07", "control"),
        ("samp_name", "S" + "x" * 20_000, "20,001 characters"),
    ],
    ids=["day-first-date", "month-13", "longitude-999", "control-character", "long-cell"],
)
def test_bad_cells(send, column, value, words):
    status, page = send(csv_bytes(rows(2, **{column: value})))
    assert status == 422
    assert words in page.lower() or words in page
    assert column in page
    assert "row 2" in page or "rows 2–3" in page


def test_required_columns_missing(send):
    records = [{k: v for k, v in r.items() if k not in ("lat_lon", "seq_meth")} for r in rows(2)]
    status, page = send(csv_bytes(records))
    assert status == 422
    assert "The required column lat_lon" in page
    assert "The required column seq_meth" in page


def test_one_megabyte_in_one_cell_is_refused_with_its_place(send):
    records = rows(3)
    records[1]["host_age"] = "4" * 1_100_000
    status, page = send(csv_bytes(records))
    assert status == 400
    assert "row 3, column host_age holds 1,100,000 characters" in page


def test_formulas_and_html_are_stored_verbatim_and_never_executed(client, create_dataset):
    from fairdb.extensions import db
    from fairdb.models import Sample

    dataset = create_dataset()
    sign_in(client, dataset.owner.email)
    values = ["=1+2", "+41", "-80 degree Celsius", "@SUM(A1)", "<script>alert('x')</script>"]
    records = rows(5, note=lambda n: values[n - 1])
    records[4]["samp_name"] = "<b>S5</b>"
    assert upload(client, dataset.id, csv_bytes(records)).status_code == 303
    db.session.expire_all()
    stored = sorted(s.attributes["note"] for s in db.session.query(Sample).all())
    assert stored == sorted(values)
    page = client.get(f"/datasets/{dataset.id}").get_data(as_text=True)
    assert "<b>S5</b>" not in page
    assert "&lt;b&gt;S5&lt;/b&gt;" in page
