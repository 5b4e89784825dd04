"""Uploading sample metadata through the web form: stored all or nothing, explained precisely."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from fairdb.extensions import db
from fairdb.models import Sample, Upload
from fairdb.services.export import cell
from tests.conftest import sign_in
from tests.uploads_helpers import GOOD, csv_bytes, rows, upload


def counts(dataset_id: int) -> tuple[int, int]:
    db.session.expire_all()
    samples = db.session.scalar(
        select(func.count()).select_from(Sample).where(Sample.dataset_id == dataset_id)
    )
    uploads = db.session.scalar(
        select(func.count()).select_from(Upload).where(Upload.dataset_id == dataset_id)
    )
    return samples or 0, uploads or 0


@pytest.fixture
def owner_client(client, create_dataset):
    dataset = create_dataset()
    sign_in(client, dataset.owner.email)
    return client, dataset


def test_a_valid_file_is_stored_with_typed_columns_and_every_cell_verbatim(owner_client):
    client, dataset = owner_client
    content = csv_bytes(rows(3, extra_note=lambda n: f"  note {n} "))
    response = upload(client, dataset.id, content)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/datasets/{dataset.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 samples stored from samples.csv" in page
    assert counts(dataset.id) == (3, 1)
    sample = db.session.scalars(select(Sample).where(Sample.samp_name == "S2")).one()
    assert sample.latitude == pytest.approx(51.8426)
    assert sample.longitude == pytest.approx(5.8528)
    assert sample.collection_date.isoformat() == "2020-12-31"
    assert sample.collection_date_precision == "day"
    assert (sample.geo_country, sample.geo_region, sample.geo_place) == (
        "Netherlands",
        "Gelderland",
        "Nijmegen",
    )
    assert (sample.env_medium_label, sample.env_medium_id) == ("feces", "ENVO:00002003")
    assert sample.host_age_value == 45
    # Every cell comes back exactly as written, whether kept as text or rebuilt from typed values.
    assert cell(sample, "extra_note") == "  note 2 "
    assert cell(sample, "lat_lon") == GOOD["lat_lon"]
    assert cell(sample, "host_age") == GOOD["host_age"]
    stored = db.session.scalars(select(Upload).where(Upload.dataset_id == dataset.id)).one()
    assert stored.filename == "samples.csv"
    assert stored.row_count == 3
    assert len(stored.sha256) == 64


def test_a_wrong_date_is_explained_with_row_column_and_fix_and_nothing_is_stored(owner_client):
    client, dataset = owner_client
    content = csv_bytes(rows(3, collection_date=lambda n: "31/12/2020" if n == 2 else "2020-12-31"))
    response = upload(client, dataset.id, content)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was stored: 1 problem in samples.csv" in page
    assert "row 3" in page  # header is row 1, so the second sample is row 3
    assert "collection_date" in page
    assert "31/12/2020" in page
    assert "2020-12-31" in page
    assert counts(dataset.id) == (0, 0)


def test_a_systematic_mistake_reads_as_one_finding(owner_client):
    client, dataset = owner_client
    content = csv_bytes(rows(500, collection_date="12/31/2020"))
    response = upload(client, dataset.id, content)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "500 problems" in page
    assert "rows 2–501" in page
    assert page.count("<tr>") == 2  # the header row and one finding
    assert counts(dataset.id) == (0, 0)


def test_the_full_report_downloads_as_csv(owner_client):
    client, dataset = owner_client
    content = csv_bytes(rows(4, lat_lon=lambda n: "45.1 999" if n % 2 else GOOD["lat_lon"]))
    response = upload(client, dataset.id, content, headers={"Accept": "application/json"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["error_count"] == 2
    report = client.get(body["report"])
    assert report.status_code == 200
    assert "45.1 999" in report.get_data(as_text=True)
    download = client.get(body["report"] + "/report.csv")
    assert download.mimetype == "text/csv"
    lines = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert [(line["row"], line["column"]) for line in lines] == [("2", "lat_lon"), ("4", "lat_lon")]
    assert "999" in lines[0]["message"]
    assert lines[0]["fix"]


def test_the_same_file_twice_is_refused_and_changes_nothing(owner_client):
    client, dataset = owner_client
    content = csv_bytes(rows(2))
    assert upload(client, dataset.id, content).status_code == 303
    again = upload(client, dataset.id, content, filename="copy.csv")
    assert again.status_code == 409
    assert "already uploaded to this dataset as samples.csv" in again.get_data(as_text=True)
    assert counts(dataset.id) == (2, 1)


def test_appending_reports_duplicate_names_and_never_merges(owner_client):
    client, dataset = owner_client
    assert upload(client, dataset.id, csv_bytes(rows(3))).status_code == 303
    more = rows(3, prefix="S")[1:] + rows(1, prefix="T")  # S2, S3 exist already
    response = upload(client, dataset.id, csv_bytes(more), filename="more.csv")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The sample name &#39;S2&#39; is already in this dataset" in page
    assert counts(dataset.id) == (3, 1)
    fresh = upload(client, dataset.id, csv_bytes(rows(2, prefix="T")), filename="t.csv")
    assert fresh.status_code == 303
    assert counts(dataset.id) == (5, 2)


def test_duplicate_names_within_a_file_name_both_rows(owner_client):
    client, dataset = owner_client
    records = rows(3)
    records[2]["samp_name"] = "S1"
    response = upload(client, dataset.id, csv_bytes(records))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "S1" in page
    assert "row 4" in page
    assert counts(dataset.id) == (0, 0)


def test_only_the_owner_may_upload(client, create_dataset, create_user):
    dataset = create_dataset()
    stranger = create_user()
    sign_in(client, stranger.email)
    assert client.get(f"/datasets/{dataset.id}/upload").status_code == 404
    assert upload(client, dataset.id, csv_bytes(rows(1))).status_code == 404
    assert counts(dataset.id) == (0, 0)


def test_signed_out_users_are_sent_to_sign_in(client, create_dataset):
    dataset = create_dataset()
    response = upload(client, dataset.id, csv_bytes(rows(1)))
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_a_download_uploads_back_unchanged(owner_client, create_dataset):
    client, dataset = owner_client
    records = rows(
        3,
        samp_store_temp="-80 degree Celsius",
        notes=lambda n: ["=SUM(A1:A2)", "+1", "<script>alert(1)</script>"][n - 1],
    )
    assert upload(client, dataset.id, csv_bytes(records)).status_code == 303
    download = client.get(f"/datasets/{dataset.id}/samples.csv")
    assert download.status_code == 200
    text = download.get_data(as_text=True)
    assert "'=SUM(A1:A2)" in text  # harmless when opened in a spreadsheet
    second = create_dataset(dataset.owner, title="copy")
    assert upload(client, second.id, download.get_data(), filename="back.csv").status_code == 303
    db.session.expire_all()
    first = {
        s.samp_name: s.attributes
        for s in db.session.scalars(select(Sample).where(Sample.dataset_id == dataset.id))
    }
    copy = {
        s.samp_name: s.attributes
        for s in db.session.scalars(select(Sample).where(Sample.dataset_id == second.id))
    }
    assert copy == first
    assert first["S1"]["notes"] == "=SUM(A1:A2)"


def test_a_large_file_downloads_exactly_as_written(owner_client):
    """Big files store shared values once per upload and rebuild typed cells; the download must
    still give back every cell exactly, including rows that differ from the shared value, rows
    left empty, and numbers written in forms the typed columns cannot rebuild."""
    client, dataset = owner_client
    odd_numbers = ["45.0 year", "45 years", "+45 year", "45  year", "0.00001 year", "1e2 year"]
    odd_places = ["51.80 5.85", "-0 5.8528", "51.8426 5.8528", "1.0000001 2", "0 0"]
    records = rows(
        1_200,
        protocol=lambda n: "" if n % 97 == 0 else ("other kit" if n % 89 == 0 else "kit v2"),
        host_age=lambda n: odd_numbers[n % 6] if n % 5 == 0 else f"{n % 90} year",
        lat_lon=lambda n: odd_places[n % 5] if n % 7 == 0 else f"{n / 1000:.3f} 5.8528",
        host_body_mass_index=lambda n: f"{17 + n % 20}.{n % 10} kilogram per square meter",
        host_taxid=lambda n: ["9606", "09606", ""][n % 3],
    )
    assert upload(client, dataset.id, csv_bytes(records)).status_code == 303
    stored = db.session.scalars(select(Upload).where(Upload.dataset_id == dataset.id)).one()
    assert stored.shared_cells["protocol"] == "kit v2"
    sample = db.session.scalars(select(Sample).where(Sample.samp_name == "S4")).one()
    assert "protocol" not in sample.attributes
    assert "lat_lon" not in sample.attributes
    download = client.get(f"/datasets/{dataset.id}/samples.csv").get_data(as_text=True)
    back = {row["samp_name"]: row for row in csv.DictReader(io.StringIO(download))}
    assert len(back) == 1_200
    for record in records:
        again = back[record["samp_name"]]
        # Formula-like cells carry an apostrophe in downloads (see formats.escape_cell).
        cells = {k: re.sub(r"^'('*[=+\-@\t\r])", r"\1", again.get(k, "")) for k in record}
        assert cells == record, record["samp_name"]


def test_templates_download_for_every_checklist(client):
    from openpyxl import load_workbook

    for name in ("MimsHumanGut", "MimarksSHumanGut", "core"):
        csv_response = client.get(f"/checklists/{name}/template.csv")
        assert csv_response.status_code == 200
        header = csv_response.get_data(as_text=True).splitlines()[0].split(",")
        assert header[0] in {"samp_name", "collection_date"} or "samp_name" in header
        xlsx = client.get(f"/checklists/{name}/template.xlsx")
        sheet = load_workbook(io.BytesIO(xlsx.get_data()), read_only=True).worksheets[0]
        first = next(sheet.iter_rows(max_row=1, values_only=True))
        assert "samp_name" in first
    assert client.get("/checklists/nope/template.csv").status_code == 404


def test_friendly_headers_and_split_coordinates_are_understood(owner_client):
    client, dataset = owner_client
    records = []
    for record in rows(2, lat_lon=None):
        renamed = {("#SampleID" if k == "samp_name" else k): v for k, v in record.items()}
        renamed.pop("lat_lon")
        renamed["Latitude"] = "51.8426"
        renamed["Longitude"] = "5.8528"
        renamed["Freezer shelf"] = "B2"
        records.append(renamed)
    response = upload(client, dataset.id, csv_bytes(records, delimiter="\t"), filename="s.tsv")
    assert response.status_code == 303
    db.session.expire_all()
    sample = db.session.scalars(select(Sample).where(Sample.samp_name == "S1")).one()
    assert (sample.latitude, sample.longitude) == (51.8426, 5.8528)
    assert sample.attributes["Freezer shelf"] == "B2"
    page = client.get(f"/datasets/{dataset.id}").get_data(as_text=True)
    assert "S1" in page


def test_an_xlsx_sheet_is_stored(owner_client):
    from openpyxl import Workbook

    client, dataset = owner_client
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(GOOD))
    for record in rows(3):
        sheet.append(list(record.values()))
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = upload(client, dataset.id, buffer.getvalue(), filename="cohort.xlsx")
    assert response.status_code == 303
    assert counts(dataset.id) == (3, 1)
