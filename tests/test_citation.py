"""A dataset's landing page says how to cite it and describes it as schema.org JSON-LD."""

from __future__ import annotations

import json
import re

from fairdb.extensions import db
from fairdb.models import Privacy
from fairdb.services import datasets
from tests.conftest import sign_in


def json_ld(page: str) -> dict:
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert found, "no JSON-LD in the page"
    return json.loads(found.group(1))


def described(create_user, *, title="Gut {cohort} & friends </script><b>", privacy=Privacy.PUBLIC):
    owner = create_user()
    dataset = datasets.create_dataset(
        owner,
        title=title,
        description="Stool samples of 40 adults.",
        creators=[
            {"name": "Ada Lovelace", "orcid": "0000-0002-1825-0097", "affiliation": "Radboud"},
            {"name": "Turing, Alan"},
        ],
        keywords=["gut", "cohort"],
        license="CC0-1.0",
        privacy=privacy,
        checklist="MimsHumanGut",
    )
    db.session.commit()
    return dataset


def test_citation_bibtex_and_schema_org_say_the_same(client, create_user):
    dataset = described(create_user)
    page = client.get(f"/datasets/{dataset.id}").get_data(as_text=True)
    year = dataset.created_at.year
    url = f"http://localhost/datasets/{dataset.id}"
    assert (
        f"Lovelace, Ada; Turing, Alan ({year}). Gut {{cohort}} &amp; friends &lt;/script&gt;"
        f"&lt;b&gt;. fairdb. {url}"
    ) in page
    # Double braces keep BibTeX from lower-casing the title.
    assert r"title = {{Gut \{cohort\} \&amp; friends &lt;/script&gt;&lt;b&gt;}}" in page
    assert "author = {Lovelace, Ada and Turing, Alan}" in page
    data = json_ld(page)
    assert data["@type"] == "Dataset"
    assert data["name"] == "Gut {cohort} & friends </script><b>"  # escaped, then read back
    assert data["url"] == url
    assert data["license"] == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert data["creator"][0]["@id"] == "https://orcid.org/0000-0002-1825-0097"
    assert data["creator"][0]["affiliation"]["name"] == "Radboud"
    assert data["keywords"] == ["gut", "cohort"]
    assert data["size"] == "0 samples"
    assert "distribution" not in data  # no samples yet
    # The title cannot end the script element early.
    assert "</script><b>" not in page


def test_restricted_datasets_say_how_to_get_access_and_offer_no_download(client, create_user):
    dataset = described(create_user, title="Restricted cohort", privacy=Privacy.RESTRICTED)
    data = json_ld(client.get(f"/datasets/{dataset.id}").get_data(as_text=True))
    assert "on request" in data["conditionsOfAccess"]
    assert "distribution" not in data
    sign_in(client, dataset.owner.email)
    assert "distribution" not in json_ld(client.get(f"/datasets/{dataset.id}").get_data(True))


def test_a_public_dataset_with_samples_offers_its_csv_as_a_distribution(
    client, create_user, tmp_path
):
    from fairdb.services import ingest
    from tests.uploads_helpers import csv_bytes, rows

    dataset = described(create_user, title="Public cohort")
    path = tmp_path / "samples.csv"
    path.write_bytes(csv_bytes(rows(3)))
    assert ingest.ingest_samples(dataset, path, "samples.csv", dataset.owner).ok
    db.session.commit()
    data = json_ld(client.get(f"/datasets/{dataset.id}").get_data(as_text=True))
    assert data["size"] == "3 samples"
    assert data["distribution"] == [
        {
            "@type": "DataDownload",
            "encodingFormat": "text/csv",
            "contentUrl": f"http://localhost/datasets/{dataset.id}/samples.csv",
        }
    ]
    assert client.get(f"/datasets/{dataset.id}/samples.csv").status_code == 200


def test_the_summary_counts_samples_by_country_year_site_sex_and_age(client, create_user, tmp_path):
    from fairdb.services import ingest
    from tests.uploads_helpers import csv_bytes, rows

    dataset = described(create_user, title="Summary cohort")
    records = rows(
        6,
        geo_loc_name=lambda n: ["Netherlands", "Kenya: Nairobi", "Netherlands"][n % 3],
        collection_date=lambda n: "2019-05-01" if n <= 2 else "2021",
        host_sex=lambda n: "female" if n % 2 else "not collected",
        host_age=lambda n: f"{n * 9} year",
    )
    path = tmp_path / "samples.csv"
    path.write_bytes(csv_bytes(records))
    assert ingest.ingest_samples(dataset, path, "samples.csv", dataset.owner).ok
    db.session.commit()
    data = client.get(f"/datasets/{dataset.id}/summary.json").get_json()
    assert data["country"] == [
        {"label": "Netherlands", "count": 4},
        {"label": "Kenya", "count": 2},
    ]
    assert data["year"] == [{"label": "2019", "count": 2}, {"label": "2021", "count": 4}]
    assert data["host_sex"] == [
        {"label": "female", "count": 3},
        {"label": "not given", "count": 3},
    ]
    # Ages 9, 18, 27, 36, 45, 54 in ten-year bins.
    assert [e["label"] for e in data["host_age"]] == [
        "0-9",
        "10-19",
        "20-29",
        "30-39",
        "40-49",
        "50-59",
    ]
    assert data["body_site"] == [{"label": "not given", "count": 6}]


def test_the_summary_of_a_private_dataset_is_not_found_for_others(client, create_user):
    dataset = described(create_user, title="Private cohort", privacy=Privacy.PRIVATE)
    assert client.get(f"/datasets/{dataset.id}/summary.json").status_code == 404
    sign_in(client, dataset.owner.email)
    assert client.get(f"/datasets/{dataset.id}/summary.json").status_code == 200
