"""The privacy pages: a dataset's risk report, generalising and saving an anonymised version,
a file measured before upload, and noisy summaries paid from the budget."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from fairdb.extensions import db
from fairdb.models import Dataset, Privacy, PrivacySpend, Sample
from fairdb.services import curation, ingest
from tests.conftest import sign_in
from tests.uploads_helpers import csv_bytes, rows

AGES = [23, 27, 31, 34, 38, 41, 44, 52, 57, 63, 66, 71]
PLACES = ["Netherlands: Gelderland, Nijmegen", "Netherlands: Utrecht, Utrecht", "Germany: Bavaria"]


def cohort(count: int) -> list[dict[str, str]]:
    return rows(
        count,
        prefix="P",
        host_age=lambda n: f"{AGES[n % len(AGES)]} year",
        host_sex=lambda n: ("female", "male")[n % 2],
        geo_loc_name=lambda n: PLACES[n % 3],
        collection_date=lambda n: f"2021-{1 + n % 12:02d}-{1 + n % 27:02d}",
        host_subject_id=lambda n: f"subject-{n}",
        host_disease_stat=lambda n: ("healthy", "Crohn disease", "ulcerative colitis")[n % 3],
    )


@pytest.fixture
def study(create_dataset: Any, create_user: Any, tmp_path: Path) -> Dataset:
    owner = create_user("owner@example.org")
    dataset = create_dataset(owner, title="Risky cohort", privacy=Privacy.PRIVATE)
    path = tmp_path / "samples.csv"
    path.write_bytes(csv_bytes(cohort(60)))
    result = ingest.ingest_samples(dataset, path, "samples.csv", owner)
    assert result.ok, result.report()
    db.session.commit()
    return dataset


QUERY = (
    "quasi=host_age&quasi=host_sex&quasi=geo_loc_name&quasi=collection_date"
    "&sensitive=host_disease_stat"
)


def text(response: Any) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return " ".join(response.get_data(as_text=True).split())


def test_the_owner_sees_the_risk_with_its_formula_and_riskiest_classes(client, study):
    sign_in(client, "owner@example.org")
    page = text(client.get(f"/datasets/{study.id}/risk?{QUERY}&k=5"))
    # Exact dates make every sample unique: k is 1 and all 60 records sit below k = 5.
    assert re.search(r'data-testid="risk-k">1<', page)
    assert re.search(r'data-testid="risk-below-k">60 \(100.0%\)', page)
    assert re.search(r'data-testid="risk-score"><span class="big">100<', page)
    assert "Singling out" in page
    assert "Article 29 Working Party" in page
    assert 'data-testid="riskiest"' in page
    # Without the date and the place, sex and age bands leave classes of 5.
    fewer = text(
        client.get(f"/datasets/{study.id}/risk?quasi=host_sex&sensitive=host_disease_stat&k=5")
    )
    assert re.search(r'data-testid="risk-k">30<', fewer)


def test_others_may_not_measure_a_dataset(client, study, create_user):
    create_user("other@example.org")
    sign_in(client, "other@example.org")
    assert client.get(f"/datasets/{study.id}/risk?{QUERY}&k=5").status_code == 404


def test_generalising_reaches_k_and_saves_a_separate_private_version(client, study):
    sign_in(client, "owner@example.org")
    query = "quasi=host_age&quasi=host_sex&quasi=geo_loc_name&sensitive=host_disease_stat&k=5"
    page = text(client.get(f"/datasets/{study.id}/risk/generalise?{query}&max_suppressed=0"))
    assert 'data-testid="levels"' in page
    assert re.search(r'data-testid="after-k">(\d+)<', page)
    assert int(re.search(r'data-testid="after-k">(\d+)<', page).group(1)) >= 5
    saved = client.post(
        f"/datasets/{study.id}/risk/generalise?{query}&max_suppressed=0",
        data={"title": "Risky cohort, anonymised"},
    )
    assert saved.status_code == 303
    db.session.expire_all()
    version = db.session.scalar(select(Dataset).where(Dataset.derived_from_id == study.id))
    assert version is not None
    assert version.privacy is Privacy.PRIVATE
    stored = db.session.scalars(select(Sample).where(Sample.dataset_id == version.id)).all()
    assert len(stored) == 60
    assert all(s.samp_name.startswith("anon-") for s in stored)
    assert all("host_subject_id" not in s.attributes for s in stored)
    # As stored, every combination of the three quasi-identifiers is shared by 5 or more.
    combos: dict[tuple[Any, ...], int] = {}
    for s in stored:
        key = tuple(s.attributes.get(f) for f in ("host_age", "host_sex", "geo_loc_name"))
        combos[key] = combos.get(key, 0) + 1
    assert min(combos.values()) >= 5, combos
    # The original is untouched.
    original = db.session.scalars(select(Sample).where(Sample.dataset_id == study.id)).all()
    assert {s.samp_name for s in original} == {f"P{n}" for n in range(1, 61)}
    # The version's own report meets the target.
    again = text(client.get(f"/datasets/{version.id}/risk?{query}"))
    assert int(re.search(r'data-testid="risk-k">(\d+)<', again).group(1)) >= 5


def test_unreachable_targets_are_said_plainly(client, study):
    sign_in(client, "owner@example.org")
    page = text(
        client.get(
            f"/datasets/{study.id}/risk/generalise?quasi=host_sex&sensitive=host_disease_stat&k=61"
        )
    )
    assert 'data-testid="no-solution"' in page


def test_a_file_is_measured_and_not_kept(client, study):
    sign_in(client, "owner@example.org")
    before = db.session.scalar(select(func.count()).select_from(Sample))
    response = client.post(
        "/risk/file",
        data={
            "file": (io.BytesIO(csv_bytes(cohort(12))), "new.csv"),
            "checklist": "MimsHumanGut",
            "quasi": ["host_sex"],
            "sensitive": ["host_disease_stat"],
            "k": "5",
        },
        content_type="multipart/form-data",
    )
    page = text(response)
    assert re.search(r'data-testid="risk-k">6<', page)
    assert 'data-testid="file-rows">12 samples read' in page
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Sample)) == before


def test_noisy_summaries_spend_the_budget_and_stop_when_it_is_spent(client, study, create_user):
    curation.set_privacy(study, study.owner, Privacy.RESTRICTED)
    study.privacy_budget = 0.25
    db.session.commit()
    create_user("visitor@example.org")
    sign_in(client, "visitor@example.org")
    url = f"/datasets/{study.id}/noisy"
    assert "0.25" in text(client.get(url))
    asked = client.post(url, data={"question": "counts host_sex", "epsilon": "0.1"})
    assert asked.status_code == 303
    page = text(client.get(url))
    assert 'data-testid="noisy-answer"' in page
    assert "0.15" in page  # left of 0.25
    # The same question again is answered from the ledger, free.
    client.post(url, data={"question": "counts host_sex", "epsilon": "0.1"})
    client.post(url, data={"question": "mean host_age", "epsilon": "0.1"})
    refused = client.post(url, data={"question": "histogram host_age", "epsilon": "0.1"})
    assert refused.status_code == 409
    db.session.expire_all()
    spends = db.session.scalars(
        select(PrivacySpend.epsilon).where(PrivacySpend.dataset_id == study.id)
    ).all()
    assert sorted(spends) == [0.1, 0.1]


def test_opening_a_risky_dataset_needs_a_justification_that_admins_see(client, study, create_user):
    from fairdb.models import Role

    sign_in(client, "owner@example.org")
    url = f"/datasets/{study.id}/privacy"
    refused = client.post(url, data={"privacy": "public"})
    assert refused.status_code == 409
    page = " ".join(refused.get_data(as_text=True).split())
    assert 'data-testid="guard"' in page
    assert "this site asks for at least 5" in page
    db.session.expire_all()
    assert db.session.get(Dataset, study.id).privacy is Privacy.PRIVATE
    opened = client.post(
        url, data={"privacy": "public", "justification": "Consent covers open release."}
    )
    assert opened.status_code == 303
    db.session.expire_all()
    assert db.session.get(Dataset, study.id).privacy is Privacy.PUBLIC
    create_user("admin@example.org", role=Role.ADMIN)
    client.post("/auth/logout")
    sign_in(client, "admin@example.org")
    listed = text(client.get("/admin/justified-openings"))
    assert "Consent covers open release." in listed
    assert "Risky cohort" in listed


def test_an_anonymised_version_is_published_without_a_justification(client, study):
    sign_in(client, "owner@example.org")
    quasi = "&".join(
        f"quasi={q}" for q in ("host_age", "host_sex", "geo_loc_name", "collection_date", "lat_lon")
    )
    # Distinct l = 2 as well: in this cohort the month tells the disease.
    query = f"{quasi}&sensitive=host_disease_stat&k=5&l=2&max_suppressed=0"
    saved = client.post(
        f"/datasets/{study.id}/risk/generalise?{query}", data={"title": "Open version"}
    )
    assert saved.status_code == 303
    db.session.expire_all()
    version = db.session.scalar(select(Dataset).where(Dataset.derived_from_id == study.id))
    published = client.post(f"/datasets/{version.id}/privacy", data={"privacy": "public"})
    assert published.status_code == 303
    db.session.expire_all()
    assert db.session.get(Dataset, version.id).privacy is Privacy.PUBLIC


def test_an_owners_own_grouping_generalises_a_field_without_a_hierarchy(
    client, create_dataset, create_user, tmp_path
):
    owner = create_user("grouper@example.org")
    dataset = create_dataset(owner, title="Diets", privacy=Privacy.PRIVATE)
    diets = ["vegan", "vegetarian", "omnivore", "pescatarian", "keto", "paleo"]
    path = tmp_path / "diets.csv"
    path.write_bytes(csv_bytes(rows(24, prefix="D", host_diet=lambda n: diets[n % 6])))
    assert ingest.ingest_samples(dataset, path, "diets.csv", owner).ok
    db.session.commit()
    sign_in(client, "grouper@example.org")
    rules = "\n".join(
        [
            "host_diet: vegan = plant",
            "host_diet: vegetarian = plant",
            "host_diet: pescatarian = plant",
            "host_diet: omnivore = other",
        ]
    )
    base = f"/datasets/{dataset.id}/risk"
    measured = text(client.get(base, query_string={"groupings": rules, "k": "5"}))
    assert re.search(r'data-testid="risk-k">4<', measured)  # six diets of four samples each
    found = text(client.get(f"{base}/generalise", query_string={"groupings": rules, "k": "5"}))
    assert "host_diet (your grouping)" in found
    assert "grouped" in found
    # keto and paleo fall into "other" unnamed: plant 12, other 12.
    assert int(re.search(r'data-testid="after-k">(\d+)<', found).group(1)) >= 5
    wrong = client.get(base, query_string={"groupings": "host_diet vegan plant", "k": "5"})
    assert wrong.status_code == 400
    assert "field: value = group" in wrong.get_data(as_text=True)
