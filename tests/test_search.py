"""Sample search: filters, facet counts, keyset pages, downloads, and what each user may find."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from fairdb.abundance.ingest import ingest_abundance
from fairdb.extensions import db
from fairdb.models import Membership, Privacy, Sample
from fairdb.services import bulk_export, curation, ingest
from fairdb.services.formats import escape_cell
from tests.abundance.helpers import tsv
from tests.conftest import sign_in
from tests.uploads_helpers import csv_bytes, rows

COUNTRIES = ["Netherlands: Gelderland", "Kenya: Nairobi", "Japan: Tokyo"]


def stored(create_dataset: Any, folder: Path, privacy: Privacy, prefix: str, count: int, **kw: Any):
    folder.mkdir()
    dataset = create_dataset(title=f"{privacy.value} {prefix}", privacy=privacy, **kw)
    path = folder / "samples.csv"
    records = rows(
        count,
        prefix=prefix,
        geo_loc_name=lambda n: COUNTRIES[n % 3],
        host_sex=lambda n: ("female", "male")[n % 2],
        host_age=lambda n: f"{20 + n} year",
        collection_date=lambda n: f"2021-0{1 + n % 9}-15",
        host_disease_stat=lambda n: "Crohn disease" if n % 4 == 0 else "healthy",
    )
    path.write_bytes(csv_bytes(records))
    result = ingest.ingest_samples(dataset, path, "samples.csv", dataset.owner)
    assert result.ok, result.report()
    db.session.commit()
    return dataset


@pytest.fixture
def catalogue(create_dataset, create_user, tmp_path):
    owner = create_user("owner@example.org", name="Olga Owner")
    public = stored(create_dataset, tmp_path / "a", Privacy.PUBLIC, "PUB", 12, owner=owner)
    restricted = stored(create_dataset, tmp_path / "b", Privacy.RESTRICTED, "RES", 5, owner=owner)
    private = stored(create_dataset, tmp_path / "c", Privacy.PRIVATE, "PRI", 4, owner=owner)
    return {"owner": owner, "public": public, "restricted": restricted, "private": private}


def page_text(response: Any) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    return " ".join(response.get_data(as_text=True).split())


def names(response: Any) -> list[str]:
    return re.findall(r'/samples/((?:PUB|RES|PRI)\d+)"', response.get_data(as_text=True))


def facet(response: Any, name: str) -> dict[str, int]:
    html = response.get_data(as_text=True)
    block = re.search(rf'data-facet="{name}">(.*?)</fieldset>', html, re.S)
    if block is None:  # a facet without values is not shown
        return {}
    found = re.findall(
        r'value="([^"]*)".*?<span class="count">([\d,]+)</span>', block.group(1), re.S
    )
    return {value: int(count.replace(",", "")) for value, count in found}


def test_anonymous_search_finds_only_public_samples_with_counts(client, catalogue):
    response = client.get("/samples")
    page = page_text(response)
    assert "<strong>12</strong> samples found" in page
    assert sorted(names(response)) == sorted(f"PUB{n}" for n in range(1, 13))
    assert facet(response, "country") == {"Netherlands": 4, "Kenya": 4, "Japan": 4}
    assert facet(response, "sex") == {"female": 6, "male": 6}
    assert facet(response, "dataset") == {str(catalogue["public"].id): 12}


def test_owner_and_collaborator_also_find_restricted_and_private(client, catalogue, create_user):
    viewer = create_user("viewer@example.org")
    curation.add_collaborator(
        catalogue["restricted"], catalogue["owner"], viewer.email, Membership.VIEWER
    )
    db.session.commit()
    sign_in(client, catalogue["owner"].email)
    assert "<strong>21</strong> samples found" in page_text(client.get("/samples"))
    other = client.application.test_client()
    sign_in(other, viewer.email)
    response = other.get("/samples?limit=100")
    assert "<strong>17</strong> samples found" in page_text(response)
    assert not [n for n in names(response) if n.startswith("PRI")]


def test_a_sample_of_its_own_tighter_privacy_is_hidden_from_outsiders(client, catalogue):
    hidden = db.session.query(Sample).filter_by(samp_name="PUB3").one()
    assert curation.set_sample_privacy(hidden, catalogue["owner"], Privacy.RESTRICTED)
    db.session.commit()
    response = client.get("/samples")
    assert "PUB3" not in names(response)
    assert "<strong>11</strong> samples found" in page_text(response)
    assert client.get(f"/datasets/{catalogue['public'].id}/samples/PUB3").status_code == 404
    download = client.get(f"/datasets/{catalogue['public'].id}/samples.csv").get_data(as_text=True)
    assert "PUB3," not in download
    assert "PUB4," in download
    sign_in(client, catalogue["owner"].email)
    assert "PUB3" in names(client.get("/samples?limit=100"))


def test_filters_combine_and_a_facet_counts_as_if_its_own_choice_were_open(client, catalogue):
    response = client.get("/samples?country=Kenya&sex=female")
    page = page_text(response)
    # Kenya is n % 3 == 1 (n = 1, 4, 7, 10); female is n even: 4 and 10.
    assert sorted(names(response)) == ["PUB10", "PUB4"]
    assert "<strong>2</strong> samples found" in page
    # The country facet ignores the country choice: every country among female samples.
    assert facet(response, "country") == {"Netherlands": 2, "Kenya": 2, "Japan": 2}
    assert facet(response, "sex") == {"female": 2, "male": 2}
    assert 'value="Kenya" checked' in response.get_data(as_text=True)


def test_ranges_words_and_disease(client, catalogue):
    ages = client.get("/samples?age_min=25&age_max=27.5")
    assert sorted(names(ages)) == ["PUB5", "PUB6", "PUB7"]
    dates = client.get("/samples?date_from=2021-03-01&date_to=2021-04-30")
    # March is n % 9 == 2 (2, 11), April n % 9 == 3 (3, 12).
    assert sorted(names(dates)) == ["PUB11", "PUB12", "PUB2", "PUB3"]
    words = client.get("/samples?q=crohn+japan")
    # Crohn: n % 4 == 0 (4, 8, 12); Japan: n % 3 == 2 (2, 5, 8, 11).
    assert names(words) == ["PUB8"]
    assert names(client.get("/samples?q=PUB12")) == ["PUB12"]
    assert names(client.get("/samples?q=nosuchword")) == []
    assert "<strong>0</strong> samples found" in page_text(client.get("/samples?q=nosuchword"))


def test_taxon_present_above_a_share(client, catalogue, tmp_path):
    import numpy as np

    dataset = catalogue["public"]
    table = np.zeros((4, 12))
    table[0, :] = 10  # Akkermansia everywhere, 10 reads
    table[1, :] = 90
    table[0, 2] = 50  # PUB3: Akkermansia 50 of 140
    table[2, :] = 0
    table[3, :] = 0
    path = tmp_path / "table.tsv"
    path.write_bytes(tsv(table, samples=[f"PUB{n}" for n in range(1, 13)]))
    assert ingest_abundance(dataset, path, "table.tsv", dataset.owner).ok
    db.session.commit()
    assert names(client.get("/samples?taxon=Akkermansia&taxon_min=20")) == ["PUB3"]
    assert len(names(client.get("/samples?taxon=Akkermansia&taxon_min=5"))) == 12
    assert len(names(client.get("/samples?taxon=Verrucomicrobia&taxon_min=5"))) == 12
    assert names(client.get("/samples?taxon=Bacteroides&taxon_min=0.1")) == []


def test_keyset_pages_walk_every_sample_once_in_each_order(client, catalogue):
    sign_in(client, catalogue["owner"].email)
    for sort in ("", "name", "date", "-date", "age"):
        seen: list[str] = []
        url = f"/samples?limit=4&sort={sort}"
        while url:
            response = client.get(url)
            seen += names(response)
            match = re.search(r'href="([^"]+)" rel="next"', response.get_data(as_text=True))
            url = match.group(1).replace("&amp;", "&") if match else ""
        assert len(seen) == 21, sort
        assert len(set(seen)) == 21, sort
    # Newest first really is newest first across pages.
    response = client.get("/samples?sort=-date&limit=100")
    dates = re.findall(r"<td>(2021-\d\d-15)</td>", response.get_data(as_text=True))
    assert dates == sorted(dates, reverse=True)


def test_id_pages_jump_over_unreadable_datasets_and_miss_nothing(
    client, create_dataset, create_user, tmp_path
):
    """Pages in id order start at the next readable upload's id range: nothing readable may be
    skipped, nothing unreadable shown, and each upload's range bounds its samples."""
    owner = create_user("owner@example.org")
    first = stored(create_dataset, tmp_path / "a", Privacy.PUBLIC, "PUB", 7, owner=owner)
    stored(create_dataset, tmp_path / "b", Privacy.PRIVATE, "PRI", 9, owner=owner)
    stored(create_dataset, tmp_path / "c", Privacy.RESTRICTED, "RES", 4, owner=owner)
    last = stored(create_dataset, tmp_path / "d", Privacy.PUBLIC, "PUX", 6, owner=owner)
    for upload in [*first.uploads, *last.uploads]:
        ids = db.session.scalars(select(Sample.id).where(Sample.upload_id == upload.id)).all()
        assert upload.first_sample_id <= min(ids) <= max(ids) <= upload.last_sample_id
    seen: list[str] = []
    url = "/samples?limit=3"
    while url:
        response = client.get(url)
        seen += re.findall(r'/samples/((?:PUB|PUX|PRI|RES)\d+)"', response.get_data(as_text=True))
        match = re.search(r'href="([^"]+)" rel="next"', response.get_data(as_text=True))
        url = match.group(1).replace("&amp;", "&") if match else ""
    expected = [f"PUB{n}" for n in range(1, 8)] + [f"PUX{n}" for n in range(1, 7)]
    assert seen == expected


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("date_from=31-12-2020", "date_from"),
        ("age_min=old", "age_min"),
        ("age_max=900", "age_max"),
        ("sort=random", "sort"),
        ("cols=nonsense", "cols"),
        ("cursor=!!!", "cursor"),
        ("dataset=abc", "dataset"),
        ("limit=0", "limit"),
    ],
)
def test_bad_parameters_are_named_with_400(client, catalogue, query, parameter):
    response = client.get(f"/samples?{query}")
    assert response.status_code == 400
    assert f"{parameter}:" in response.get_data(as_text=True)


def test_downloads_hold_the_search_result_in_every_format(client, catalogue):
    hidden = db.session.query(Sample).filter_by(samp_name="PUB2").one()
    hidden.attributes = {**hidden.attributes, "host_disease_stat": "=HYPERLINK(1)"}
    hidden.host_disease_stat = None
    db.session.commit()
    query = "country=Japan&cols=samp_name&cols=host_disease_stat&cols=host_age"
    body = client.get(f"/samples/download.csv?{query}").get_data(as_text=True)
    table = list(csv.reader(io.StringIO(body)))
    # Chosen columns come in one order however they were chosen: the default ones first.
    assert table[0] == ["dataset_id", "dataset_title", "samp_name", "host_age", "host_disease_stat"]
    assert [row[2] for row in table[1:]] == ["PUB2", "PUB5", "PUB8", "PUB11"]
    assert table[1][4] == "'=HYPERLINK(1)"  # escaped against formula injection
    assert table[1][3] == "22 year"
    tsv_body = client.get(f"/samples/download.tsv?{query}").get_data(as_text=True)
    assert tsv_body.splitlines()[1].split("\t")[2:] == ["PUB2", "22 year", "'=HYPERLINK(1)"]
    records = json.loads(client.get(f"/samples/download.json?{query}").get_data())
    assert records[0]["host_disease_stat"] == "=HYPERLINK(1)"  # JSON is data, not a sheet
    assert [r["samp_name"] for r in records] == ["PUB2", "PUB5", "PUB8", "PUB11"]
    sheet = load_workbook(io.BytesIO(client.get(f"/samples/download.xlsx?{query}").get_data()))
    values = list(sheet.active.iter_rows(values_only=True))
    assert values[1][2:] == ("PUB2", "22 year", "'=HYPERLINK(1)")
    # What a visitor may not see is never in a download.
    everything = client.get("/samples/download.csv").get_data(as_text=True)
    assert "RES1" not in everything
    assert "PRI1" not in everything
    assert client.get("/samples/download.exe").status_code == 404


def test_dataset_bundle_has_samples_table_metadata_and_readme(client, catalogue, tmp_path):
    import numpy as np

    dataset = catalogue["public"]
    path = tmp_path / "table.tsv"
    path.write_bytes(tsv(np.ones((2, 12)), samples=[f"PUB{n}" for n in range(1, 13)]))
    assert ingest_abundance(dataset, path, "table.tsv", dataset.owner).ok
    db.session.commit()
    response = client.get(f"/datasets/{dataset.id}/bundle.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    assert archive.testzip() is None
    members = archive.namelist()
    assert members[:3] == ["README.txt", "datacite.json", "samples.csv"]
    assert len([m for m in members if m.startswith("abundance/")]) == 1
    metadata = json.loads(archive.read("datacite.json"))
    assert metadata["titles"] == [{"title": dataset.title}]
    assert metadata["types"]["resourceTypeGeneral"] == "Dataset"
    assert metadata["rightsList"][0]["rights"] == dataset.license
    samples = list(csv.reader(io.StringIO(archive.read("samples.csv").decode())))
    assert len(samples) == 13
    entries = archive.read([m for m in members if m.startswith("abundance/")][0]).decode()
    assert entries.splitlines()[0] == "feature_id\tlineage\tsample\tvalue"
    assert len(entries.splitlines()) == 1 + 2 * 12
    readme = archive.read("README.txt").decode()
    assert dataset.title in readme
    assert "Cite as:" in readme
    # Restricted: the catalogue entry is public, the bundle is not.
    assert client.get(f"/datasets/{catalogue['restricted'].id}/bundle.zip").status_code == 302
    assert client.get(f"/datasets/{catalogue['private'].id}/bundle.zip").status_code == 404


def test_dataset_downloads_in_every_format(client, catalogue):
    dataset = catalogue["public"]
    for fmt, media in (
        ("csv", "text/csv"),
        ("tsv", "text/tab-separated-values"),
        ("json", "application/json"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ):
        response = client.get(f"/datasets/{dataset.id}/samples.{fmt}", buffered=True)
        assert response.status_code == 200
        assert response.mimetype == media
        assert f'.{fmt}"' in response.headers["Content-Disposition"]
    records = json.loads(client.get(f"/datasets/{dataset.id}/samples.json").get_data())
    assert len(records) == 12
    assert records[0]["geo_loc_name"] == "Kenya: Nairobi"


def test_counts_kept_per_upload_agree_with_counting_the_samples(client, catalogue):
    """Facet-only searches are counted from per-upload counts; any range makes the count come
    from the samples themselves. Every sample here has a date, so both must agree."""
    hidden = db.session.query(Sample).filter_by(samp_name="PUB5").one()
    curation.set_sample_privacy(hidden, catalogue["owner"], Privacy.PRIVATE)
    db.session.commit()
    queries = ["", "country=Kenya", "country=Kenya&sex=female", "disease=healthy&sex=male"]
    queries += ["q=crohn", "q=kenya+fem", "q=crohn&country=Japan", "q=gelderland"]
    queries.append(f"dataset={catalogue['restricted'].id}&country=Japan")
    for who in ("anonymous", "owner"):
        if who == "owner":
            sign_in(client, catalogue["owner"].email)
        for query in queries:
            kept = client.get(f"/samples?{query}")
            counted = client.get(f"/samples?{query}&date_from=1000-01-01")
            for name in ("dataset", "country", "sex", "disease", "seq_meth"):
                assert facet(kept, name) == facet(counted, name), (who, query, name)
            total = re.search(r"<strong>(\d+)</strong> samples? found", page_text(kept))
            assert total is not None
            assert total.group(0) in page_text(counted)


def test_cells_built_by_sql_and_polars_equal_export_cell_row_by_row(
    client, create_dataset, tmp_path
):
    """Pages and downloads build cells in SQL (cells_sql), the privacy toolkit in polars
    (bulk_export); export.cell builds them one sample at a time from the ORM. Over an upload
    big enough to share cells, with numbers, formula-like text, quotes, newlines and cells
    emptied against a shared value, all give the same, in every download order and format."""
    dataset = create_dataset(privacy=Privacy.PUBLIC)
    diets = ["omnivore", '=cmd|" /C calc"!A0', "vegan, mostly", "line\nbreak", "cr\rhere", ""]
    records = rows(
        1200,
        prefix="BIG",
        collection_date=lambda n: ["2020-05-17", "2020-05", "2020"][n % 3],
        lat_lon=lambda n: ["51.8426 5.8528", "-1.2921 36.8219", "0 0"][n % 3],
        host_age=lambda n: ["45 year", "0.5 year", "100.25 years", "7 month"][n % 4],
        host_body_mass_index=lambda n: ["", "23.5", "19 kg/m2", "31.123456"][n % 4],
        host_diet=lambda n: diets[n % len(diets)] if n % 10 else "omnivore",
        host_occupation=lambda n: "" if n % 7 == 0 else "nurse",
        host_subject_id=lambda n: f"+{n}" if n % 5 == 0 else f"P{n // 2}",
    )
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(records))
    result = ingest.ingest_samples(dataset, path, "big.csv", dataset.owner)
    assert result.ok, result.report()
    db.session.commit()
    columns = [
        "samp_name",
        "project_name",
        "collection_date",
        "geo_loc_name",
        "lat_lon",
        "host_age",
        "host_body_mass_index",
        "host_diet",
        "host_subject_id",
        "env_medium",
        "seq_meth",
    ]
    query = "&".join(f"cols={name}" for name in columns)
    from fairdb.models import Upload
    from fairdb.services.export import cell

    shared = {u.id: u.shared_cells for u in db.session.query(Upload)}
    assert shared[result.upload_id]["host_occupation"] == "nurse"  # shared cells are in play
    expected = {
        sample.samp_name: {
            name: escape_cell(cell(sample, name, shared[sample.upload_id])) for name in columns
        }
        for sample in db.session.query(Sample).filter_by(dataset_id=dataset.id)
    }
    for fmt, separator in (("csv", ","), ("tsv", "\t")):
        for order in ("", "name", "-date"):
            body = client.get(f"/samples/download.{fmt}?{query}&sort={order}").get_data(
                as_text=True
            )
            table = list(csv.reader(io.StringIO(body, newline=""), delimiter=separator))
            header = table[0][2:]
            assert sorted(header) == sorted(columns)
            assert len(table) == 1201
            for row in table[1:]:
                assert dict(zip(header, row[2:], strict=True)) == expected[row[2]], (fmt, order)
    frame = bulk_export.frame(
        select(Sample.id.label("id"), Sample.samp_name.label("name")).where(
            Sample.dataset_id == dataset.id
        ),
        {"id": pl.Int64, "name": pl.String},
        columns,
    )
    assert frame.height == 1200
    for row in frame.iter_rows(named=True):
        built = {name: escape_cell(row[name]) for name in columns}
        assert built == expected[row["name"]], row["name"]
    # And what the cells are: the original sheet's, escaped where a spreadsheet would run them.
    fast = list(
        csv.DictReader(
            io.StringIO(
                client.get(f"/samples/download.csv?{query}").get_data(as_text=True), newline=""
            )
        )
    )
    for record, row in zip(records, fast, strict=True):
        for name in columns:
            assert row[name] == escape_cell(record.get(name, "")), (record["samp_name"], name)
