"""The API's contract: tokens, datasets, samples, problems, cursors, idempotency, rate limits."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from fairdb.extensions import db, limiter
from fairdb.models import Dataset, Privacy, Sample
from fairdb.services import tokens
from tests.api.helpers import bearer
from tests.uploads_helpers import GOOD, csv_bytes, rows

PROBLEM = "application/problem+json"


def new_dataset(client: Any, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body = {
        "title": "Gut cohort via API",
        "description": "Stool samples of a test cohort.",
        "creators": [{"name": "Ada Lovelace", "orcid": "0000-0002-1825-0097"}],
        "keywords": ["gut", "test"],
        "license": "CC0-1.0",
        "privacy_level": "private",
        "checklist": "MimsHumanGut",
        **overrides,
    }
    response = client.post("/api/v1/datasets", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def test_a_script_creates_a_dataset_uploads_searches_and_downloads(client, create_user):
    owner = create_user("owner@example.org")
    auth = bearer(owner)
    made = new_dataset(client, auth)
    assert made["title"] == "Gut cohort via API"
    assert made["creators"][0]["orcid"] == "0000-0002-1825-0097"
    assert made["sample_count"] == 0
    records = rows(30, prefix="API", host_sex=lambda n: ("female", "male")[n % 2])
    stored = client.post(f"/api/v1/datasets/{made['id']}/samples", json=records, headers=auth)
    assert stored.status_code == 201, stored.get_json()
    assert stored.get_json()["stored"] == 30
    # The same samples, found by the page's own filters, a page at a time.
    seen: list[str] = []
    url: str | None = f"/api/v1/samples?dataset={made['id']}&sex=female&limit=4&facets=true"
    first = True
    while url:
        page = client.get(url, headers=auth)
        assert page.status_code == 200
        body = page.get_json()
        if first:
            assert body["total"] == 15
            assert {v["value"]: v["count"] for v in body["facets"]["sex"]}["female"] == 15
            first = False
        seen += [item["samp_name"] for item in body["items"]]
        url = body["next"]
        if url:
            assert page.headers["Link"] == f'<{url}>; rel="next"'
    assert sorted(seen) == sorted(f"API{n}" for n in range(2, 31, 2))
    download = client.get(f"/api/v1/samples/download.csv?dataset={made['id']}", headers=auth)
    table = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert len(table) == 30
    assert {row["host_sex"] for row in table} == {"female", "male"}
    # Anonymous callers do not learn the private dataset exists.
    assert client.get(f"/api/v1/datasets/{made['id']}").status_code == 404
    assert client.get(f"/api/v1/samples?dataset={made['id']}").get_json()["items"] == []


def test_bad_records_are_refused_with_row_column_and_fix_and_nothing_stored(client, create_user):
    owner = create_user("owner@example.org")
    auth = bearer(owner)
    made = new_dataset(client, auth)
    records = rows(5, prefix="BAD")
    records[2]["collection_date"] = "31/12/2020"
    response = client.post(f"/api/v1/datasets/{made['id']}/samples", json=records, headers=auth)
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    wrong = [e for e in problem["errors"] if e["column"] == "collection_date"]
    assert wrong
    assert wrong[0]["row"] == 4  # header on row 1, the third record on row 4
    assert wrong[0]["value"] == "31/12/2020"
    assert "2020-12-31" in wrong[0]["fix"] or "YYYY" in wrong[0]["fix"]
    db.session.expire_all()
    assert db.session.query(Sample).filter_by(dataset_id=made["id"]).count() == 0


def test_a_file_upload_reports_as_the_upload_page_does(client, create_user):
    owner = create_user("owner@example.org")
    auth = bearer(owner)
    made = new_dataset(client, auth)
    records = rows(3)
    records[1]["host_age"] = "sometimes"
    data = {"file": (io.BytesIO(csv_bytes(records)), "samples.csv")}
    response = client.post(
        f"/api/v1/datasets/{made['id']}/samples",
        data=data,
        headers=auth,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    (error,) = [e for e in response.get_json()["errors"] if e["column"] == "host_age"]
    assert (error["row"], error["value"]) == (3, "sometimes")
    assert error["message"]
    assert error["fix"]


def test_invalid_json_metadata_names_each_field(client, create_user):
    auth = bearer(create_user())
    response = client.post(
        "/api/v1/datasets",
        json={"title": "", "license": "mine", "checklist": "nope", "colour": "red"},
        headers=auth,
    )
    assert response.status_code == 422
    columns = {e["column"] for e in response.get_json()["errors"]}
    assert {"title", "license", "checklist", "colour"} <= columns
    bad_orcid = client.post(
        "/api/v1/datasets",
        json={"title": "x", "checklist": "MimsHumanGut", "creators": [{"name": "A", "orcid": "1"}]},
        headers=auth,
    )
    assert bad_orcid.status_code == 422
    assert bad_orcid.get_json()["errors"][0]["column"] == "creators.0.orcid"
    not_json = client.post("/api/v1/datasets", data="title=x", headers=auth)
    assert not_json.status_code == 400
    assert not_json.mimetype == PROBLEM


def test_credentials_401_read_only_403_invisible_404_never_a_redirect(
    client, create_user, create_dataset
):
    owner = create_user("owner@example.org")
    other = create_user("other@example.org")
    private = create_dataset(owner, privacy=Privacy.PRIVATE)
    public = create_dataset(owner, privacy=Privacy.PUBLIC, title="Open cohort")
    db.session.commit()
    nobody = client.post("/api/v1/datasets", json={"title": "x", "checklist": "MimsHumanGut"})
    assert nobody.status_code == 401
    assert nobody.headers["WWW-Authenticate"].lower().startswith("bearer")
    forged = client.get("/api/v1/datasets", headers={"Authorization": "Bearer fdb_forged"})
    assert forged.status_code == 401
    assert forged.mimetype == PROBLEM
    read_only = bearer(owner, write=False, name="read")
    refused = client.patch(
        f"/api/v1/datasets/{public.id}", json={"title": "Renamed"}, headers=read_only
    )
    assert refused.status_code == 403
    assert "may only read" in refused.get_json()["detail"]
    as_other = bearer(other)
    assert client.get(f"/api/v1/datasets/{private.id}", headers=as_other).status_code == 404
    forbidden = client.patch(
        f"/api/v1/datasets/{public.id}", json={"title": "Mine now"}, headers=as_other
    )
    assert forbidden.status_code == 403
    for response in (nobody, forged, refused, forbidden):
        assert "Location" not in response.headers
    db.session.expire_all()
    assert db.session.get(Dataset, public.id).title == "Open cohort"


def test_a_revoked_token_stops_working_at_once(client, create_user):
    owner = create_user("owner@example.org")
    token, plaintext = tokens.create_token(owner, "laptop", can_write=True)
    db.session.commit()
    auth = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/datasets", headers=auth).status_code == 200
    tokens.revoke_token(owner, token.id)
    db.session.commit()
    assert client.get("/api/v1/datasets", headers=auth).status_code == 401


def test_the_sign_in_cookie_is_not_an_api_credential(client, create_user):
    """A page could otherwise make a signed-in browser call the API without CSRF checks."""
    from tests.conftest import sign_in

    create_user("owner@example.org")
    sign_in(client, "owner@example.org")
    response = client.post("/api/v1/datasets", json={"title": "x", "checklist": "MimsHumanGut"})
    assert response.status_code == 401


def test_edit_privacy_history_and_delete_through_the_api(client, create_user):
    owner = create_user("owner@example.org")
    editor = create_user("editor@example.org")
    auth = bearer(owner)
    made = new_dataset(client, auth)
    added = client.post(
        f"/api/v1/datasets/{made['id']}/collaborators",
        json={"email": "editor@example.org", "role": "editor"},
        headers=auth,
    )
    assert added.status_code == 201
    as_editor = bearer(editor)
    renamed = client.patch(
        f"/api/v1/datasets/{made['id']}", json={"title": "Renamed"}, headers=as_editor
    )
    assert renamed.status_code == 200
    assert renamed.get_json()["title"] == "Renamed"
    # Privacy is the owner's decision.
    opened = client.patch(
        f"/api/v1/datasets/{made['id']}", json={"privacy_level": "public"}, headers=as_editor
    )
    assert opened.status_code == 403
    listed = client.get(f"/api/v1/datasets/{made['id']}/collaborators", headers=auth)
    assert [c["email"] for c in listed.get_json()["items"]] == ["editor@example.org"]
    removed = client.delete(
        f"/api/v1/datasets/{made['id']}/collaborators/{editor.id}", headers=auth
    )
    assert removed.status_code == 204
    assert client.get(f"/api/v1/datasets/{made['id']}", headers=as_editor).status_code == 404
    assert client.delete(f"/api/v1/datasets/{made['id']}", headers=auth).status_code == 204
    assert client.get(f"/api/v1/datasets/{made['id']}", headers=auth).status_code == 404


def test_a_sample_is_read_and_changed_through_the_checklist(client, create_user):
    owner = create_user("owner@example.org")
    auth = bearer(owner)
    made = new_dataset(client, auth)
    client.post(f"/api/v1/datasets/{made['id']}/samples", json=rows(2), headers=auth)
    found = client.get(f"/api/v1/samples?dataset={made['id']}", headers=auth).get_json()
    sample_url = found["items"][0]["url"]
    one = client.get(sample_url, headers=auth).get_json()
    assert one["cells"]["samp_name"] == "S1"
    assert one["cells"]["host_sex"] == GOOD["host_sex"]
    bad = client.patch(sample_url, json={"cells": {"host_age": "old"}}, headers=auth)
    assert bad.status_code == 422
    assert bad.get_json()["errors"][0]["column"] == "host_age"
    good = client.patch(sample_url, json={"cells": {"host_age": "71 year"}}, headers=auth)
    assert good.status_code == 200
    assert good.get_json()["cells"]["host_age"] == "71 year"
    again = client.get(f"/api/v1/samples?dataset={made['id']}&age_min=70", headers=auth)
    assert [item["samp_name"] for item in again.get_json()["items"]] == ["S1"]


def test_a_retried_upload_with_the_same_idempotency_key_is_stored_once(client, create_user):
    owner = create_user("owner@example.org")
    auth = bearer(owner)
    made = new_dataset(client, auth)
    headers = {**auth, "Idempotency-Key": "upload-7f3a"}
    first = client.post(f"/api/v1/datasets/{made['id']}/samples", json=rows(4), headers=headers)
    second = client.post(f"/api/v1/datasets/{made['id']}/samples", json=rows(4), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.get_json() == first.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    db.session.expire_all()
    assert db.session.query(Sample).filter_by(dataset_id=made["id"]).count() == 4
    other = client.post(f"/api/v1/datasets/{made['id']}/samples", json=rows(2), headers=headers)
    assert other.status_code == 422
    assert "different request" in other.get_json()["detail"]


def test_bad_search_parameters_are_named(client):
    for query, parameter in (("limit=0", "limit"), ("cursor=%21%21", "cursor"), ("sort=x", "sort")):
        response = client.get(f"/api/v1/samples?{query}")
        assert response.status_code == 400, query
        assert response.get_json()["errors"][0]["column"] == parameter


@pytest.fixture
def tight_rate(app):
    app.config["API_RATE_LIMIT"] = "3 per minute"  # the app fixture restores the config
    limiter.reset()
    yield app
    limiter.reset()


def test_rate_limits_count_per_token_and_say_when_to_retry(client, create_user, tight_rate):
    first, second = bearer(create_user(), name="a"), bearer(create_user(), name="b")
    answers = [client.get("/api/v1/checklists", headers=first).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    limited = client.get("/api/v1/checklists", headers=first)
    assert limited.mimetype == PROBLEM
    assert int(limited.headers["Retry-After"]) > 0
    assert client.get("/api/v1/checklists", headers=second).status_code == 200


def test_checklists_describe_fields_for_clients(client):
    listed = client.get("/api/v1/checklists").get_json()
    assert "MimsHumanGut" in [c["name"] for c in listed["items"]]
    detail = client.get("/api/v1/checklists/MimsHumanGut").get_json()
    by_name = {f["name"]: f for f in detail["fields"]}
    assert by_name["collection_date"]["required"] is True
    assert by_name["collection_date"]["description"]
    assert {"paired", "single"} <= set(by_name["lib_layout"]["allowed_values"])
    assert client.get("/api/v1/checklists/Nope").status_code == 404


def test_the_openapi_document_describes_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint in (
            "api.openapi_document",
            "api.documentation",
        ):
            continue
        path = rule.rule.removeprefix("/api/v1").replace("<int:", "{").replace("<", "{")
        path = path.replace(">", "}")
        assert path in paths, rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = paths[path][method.lower()]
            assert "401" in operation["responses"]
    create = paths["/datasets"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create == {"$ref": "#/components/schemas/DatasetIn"}
    assert "title" in document["components"]["schemas"]["DatasetIn"]["required"]


@pytest.mark.parametrize(
    ("body", "status", "column"),
    [
        ('{"title": "a\\u0000b", "checklist": "MimsHumanGut"}', 422, "title"),
        ('{"title": "lone \\ud800 half", "checklist": "MimsHumanGut"}', 400, None),
        ('{"title": NaN, "checklist": "MimsHumanGut"}', 400, None),
        ("[1, 2", 400, None),
    ],
)
def test_json_bodies_postgresql_cannot_store_are_refused_by_name(
    client, create_user, body, status, column
):
    """A NUL is named where it is; a lone UTF-16 surrogate (not text in UTF-8) and JSON's
    non-standard NaN are not JSON to fairdb: 4xx, nothing stored, never a server error."""
    auth = bearer(create_user())
    response = client.post(
        "/api/v1/datasets", data=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    if column is not None:
        assert response.get_json()["errors"][0]["column"] == column
    assert db.session.query(Dataset).count() == 0


def test_records_of_the_wrong_shape_are_named_by_row(client, create_user):
    auth = bearer(create_user())
    made = new_dataset(client, auth)
    url = f"/api/v1/datasets/{made['id']}/samples"
    records: list[Any] = [*rows(2, prefix="OK"), ["not", "a", "record"]]
    response = client.post(url, json=records, headers=auth)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["row"] == 4
    nested = [{**rows(1)[0], "host_diet": {"kind": "vegan"}}]
    response = client.post(url, json=nested, headers=auth)
    assert response.status_code == 422
    error = response.get_json()["errors"][0]
    assert (error["row"], error["column"]) == (2, "host_diet")
    assert client.post(url, json={"samp_name": "x"}, headers=auth).status_code == 422
    db.session.expire_all()
    assert db.session.query(Sample).filter_by(dataset_id=made["id"]).count() == 0
