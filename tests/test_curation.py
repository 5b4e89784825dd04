"""Editing a dataset, its privacy and collaborators, deleting it, and the history of it all."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from fairdb.extensions import db
from fairdb.models import AbundanceTable, Collaborator, Dataset, DatasetEvent, Privacy, Sample
from tests.abundance.helpers import counts, dataset_with_samples, tsv
from tests.conftest import sign_in


def _history(client: Any, dataset_id: int) -> str:
    response = client.get(f"/datasets/{dataset_id}/history")
    assert response.status_code == 200
    return " ".join(response.get_data(as_text=True).split())


def test_editor_changes_the_description_and_the_history_shows_old_and_new(
    client, create_dataset, create_user
):
    dataset = create_dataset(title="Gut cohort 2020", privacy=Privacy.PRIVATE)
    editor = create_user("editor@example.org", name="Edda Editor")
    sign_in(client, dataset.owner.email)
    added = client.post(
        f"/datasets/{dataset.id}/collaborators",
        data={"email": "Editor@Example.org ", "role": "editor"},
    )
    assert added.status_code == 303
    client.post("/auth/logout")

    sign_in(client, editor.email)
    form = client.get(f"/datasets/{dataset.id}/edit").get_data(as_text=True)
    assert 'value="Gut cohort 2020"' in form
    saved = client.post(
        f"/datasets/{dataset.id}/edit",
        data={
            "title": "Gut cohort 2020-2021",
            "description": "Stool of 200 adults.",
            "creators": "Ada Lovelace; 0000-0002-1825-0097; Analytical Engines",
            "keywords": "gut, adults",
            "license": "CC0-1.0",
        },
        follow_redirects=True,
    )
    page = " ".join(saved.get_data(as_text=True).split())
    assert "Gut cohort 2020-2021" in page
    assert "Saved: title, description, creators, keywords, license." in page
    history = _history(client, dataset.id)
    assert "Edda Editor" in history
    assert '<code>"Gut cohort 2020"</code>' in history
    assert '<code>"Gut cohort 2020-2021"</code>' in history
    assert "collaborator added" in history
    assert "created" in history

    # An editor does not manage: settings, privacy and deletion are the owner's.
    assert client.get(f"/datasets/{dataset.id}/settings").status_code == 403
    assert (
        client.post(f"/datasets/{dataset.id}/privacy", data={"privacy": "public"}).status_code
        == 403
    )
    db.session.expire_all()
    assert db.session.get(Dataset, dataset.id).privacy is Privacy.PRIVATE


def test_a_bad_edit_names_the_field_and_changes_nothing(client, create_dataset):
    dataset = create_dataset(title="Kept title")
    sign_in(client, dataset.owner.email)
    response = client.post(
        f"/datasets/{dataset.id}/edit",
        data={"title": "", "creators": "Ada; not-an-orcid", "license": "CC0-1.0"},
    )
    assert response.status_code == 400
    page = " ".join(response.get_data(as_text=True).split())
    assert "Give the dataset a title." in page
    assert "ORCID" in page
    db.session.expire_all()
    assert db.session.get(Dataset, dataset.id).title == "Kept title"
    assert (
        db.session.scalar(
            select(func.count()).select_from(DatasetEvent).where(DatasetEvent.action == "edited")
        )
        == 0
    )


def test_owner_adds_and_removes_collaborators_by_email(client, create_dataset, create_user):
    dataset = create_dataset(privacy=Privacy.PRIVATE)
    viewer = create_user("viewer@example.org", name="Vera Viewer")
    sign_in(client, dataset.owner.email)
    unknown = client.post(
        f"/datasets/{dataset.id}/collaborators",
        data={"email": "nobody@example.org", "role": "viewer"},
    )
    assert unknown.status_code == 400
    assert "No account uses &#39;nobody@example.org&#39;" in unknown.get_data(as_text=True)
    itself = client.post(
        f"/datasets/{dataset.id}/collaborators",
        data={"email": dataset.owner.email, "role": "viewer"},
    )
    assert itself.status_code == 400
    assert "owns this dataset already" in itself.get_data(as_text=True)

    added = client.post(
        f"/datasets/{dataset.id}/collaborators",
        data={"email": "viewer@example.org", "role": "viewer"},
        follow_redirects=True,
    )
    page = " ".join(added.get_data(as_text=True).split())
    assert "Vera Viewer is now a viewer." in page
    assert "viewer@example.org" in page

    other = client.application.test_client()
    sign_in(other, viewer.email)
    assert other.get(f"/datasets/{dataset.id}").status_code == 200
    assert other.get(f"/datasets/{dataset.id}/edit").status_code == 403

    removed = client.post(
        f"/datasets/{dataset.id}/collaborators/{viewer.id}/remove", follow_redirects=True
    )
    assert "Collaborator removed" in removed.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Collaborator)) == 0
    # The private dataset no longer exists for them, on their very next request.
    assert other.get(f"/datasets/{dataset.id}").status_code == 404
    history = _history(client, dataset.id)
    assert "collaborator added" in history
    assert "collaborator removed" in history


def test_owner_changes_privacy_and_it_is_recorded(client, create_dataset):
    dataset = create_dataset(privacy=Privacy.PRIVATE)
    sign_in(client, dataset.owner.email)
    response = client.post(
        f"/datasets/{dataset.id}/privacy", data={"privacy": "restricted"}, follow_redirects=True
    )
    assert "The dataset is now restricted." in response.get_data(as_text=True)
    anonymous = client.application.test_client()
    assert anonymous.get(f"/datasets/{dataset.id}").status_code == 200
    assert "privacy changed" in _history(client, dataset.id)


def test_delete_asks_for_the_title_then_removes_everything_and_keeps_the_record(
    client, create_dataset, tmp_path
):
    from fairdb.abundance.ingest import ingest_abundance

    dataset = dataset_with_samples(create_dataset, tmp_path)
    path = tmp_path / "table.tsv"
    path.write_bytes(tsv(counts()))
    assert ingest_abundance(dataset, path, "table.tsv", dataset.owner).ok
    db.session.commit()
    dataset_id, table_id = dataset.id, db.session.scalar(select(AbundanceTable.id))
    sign_in(client, dataset.owner.email)

    confirm = client.get(f"/datasets/{dataset_id}/delete").get_data(as_text=True)
    assert "cannot be undone" in confirm
    wrong = client.post(f"/datasets/{dataset_id}/delete", data={"confirm": "gut cohort"})
    assert wrong.status_code == 400
    assert "That is not the dataset&#39;s title" in wrong.get_data(as_text=True)
    assert db.session.get(Dataset, dataset_id) is not None

    done = client.post(
        f"/datasets/{dataset_id}/delete", data={"confirm": dataset.title}, follow_redirects=True
    )
    assert "and all its samples and tables were deleted" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Dataset, dataset_id) is None
    assert db.session.scalar(select(func.count()).select_from(Sample)) == 0
    partitions = db.session.scalar(
        select(func.count()).select_from(
            select(func.to_regclass(f"abundances_{table_id}"))
            .where(func.to_regclass(f"abundances_{table_id}").is_not(None))
            .subquery()
        )
    )
    assert partitions == 0
    assert client.get(f"/datasets/{dataset_id}").status_code == 404
    deleted = db.session.scalars(
        select(DatasetEvent).where(DatasetEvent.dataset_id == dataset_id).order_by(DatasetEvent.id)
    ).all()
    assert [e.action for e in deleted][-1] == "deleted"
    assert deleted[-1].old_value["title"] == dataset.title


def test_editor_edits_a_sample_checked_like_an_upload_and_it_is_recorded(
    client, create_dataset, tmp_path
):
    dataset = dataset_with_samples(lambda: create_dataset(privacy=Privacy.PUBLIC), tmp_path)
    sign_in(client, dataset.owner.email)
    url = f"/datasets/{dataset.id}/edit-sample/S2"
    form = client.get(url).get_data(as_text=True)
    assert 'name="cell:host_age" value="45 year"' in form
    cells = dict(re.findall(r'name="(cell:[^"]+)" value="([^"]*)"', form))
    bad = client.post(
        url, data={**cells, "cell:host_age": "forty", "cell:collection_date": "31/31/2020"}
    )
    assert bad.status_code == 400
    page = " ".join(bad.get_data(as_text=True).split())
    assert "Nothing was saved: 2 cells to fix" in page
    assert "host_age" in page
    assert "collection_date" in page
    db.session.expire_all()
    assert db.session.query(Sample).filter_by(samp_name="S2").one().host_age_value == 45

    cells["cell:host_age"] = "46 year"
    cells["cell:samp_name"] = "S2b"
    saved = client.post(
        url, data={**cells, "new_field": "host_body_mass_index", "new_value": "23.5 kg/m2"}
    )
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith(f"/datasets/{dataset.id}/samples/S2b")
    db.session.expire_all()
    sample = db.session.query(Sample).filter_by(samp_name="S2b").one()
    assert sample.host_age_value == 46
    assert sample.host_body_mass_index == 23.5
    page = " ".join(client.get(saved.headers["Location"]).get_data(as_text=True).split())
    assert "46 year" in page
    assert "23.5 kg/m2" in page
    history = _history(client, dataset.id)
    assert "S2b: host_age" in history
    assert '<code>"45 year"</code>' in history
    assert "S2b: host_body_mass_index" in history
    # The search finds the sample by its new values.
    assert "S2b" in client.get("/samples?q=S2b").get_data(as_text=True)


def test_a_sample_name_stays_unique_and_privacy_can_be_tightened(client, create_dataset, tmp_path):
    dataset = dataset_with_samples(lambda: create_dataset(privacy=Privacy.PUBLIC), tmp_path)
    sign_in(client, dataset.owner.email)
    url = f"/datasets/{dataset.id}/edit-sample/S3"
    form = client.get(url).get_data(as_text=True)
    cells = dict(re.findall(r'name="(cell:[^"]+)" value="([^"]*)"', form))
    taken = client.post(url, data={**cells, "cell:samp_name": "S4"})
    assert taken.status_code == 400
    assert "Another sample of this dataset is named" in taken.get_data(as_text=True)
    private = client.post(url, data={**cells, "privacy": "private"})
    assert private.status_code == 303
    anonymous = client.application.test_client()
    assert anonymous.get(f"/datasets/{dataset.id}/samples/S3").status_code == 404
    assert '/samples/S3"' not in anonymous.get("/samples?q=S3").get_data(as_text=True)
