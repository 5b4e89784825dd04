"""Every route, as every kind of user, against public, restricted and private data.

The routes come from `app.url_map`: a new route without an access declaration, or whose
answers differ from what the policy says, fails here. Expected answers follow the policy in
fairdb/services/access.py; the same table of expectations is written out in ARCHITECTURE.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask, url_for
from sqlalchemy import select

from fairdb.abundance.ingest import ingest_abundance
from fairdb.extensions import db
from fairdb.models import Dataset, Membership, Privacy, Role, Sample, UploadAttempt
from fairdb.services import access, curation, tokens
from tests.abundance.helpers import counts, dataset_with_samples, tsv
from tests.conftest import PASSWORD, form_token, sign_in

ROLES = ("anonymous", "other", "viewer", "editor", "owner", "admin")
STANDING = {
    "anonymous": access.Role.NONE,
    "other": access.Role.NONE,
    "viewer": access.Role.VIEWER,
    "editor": access.Role.EDITOR,
    "owner": access.Role.OWNER,
    "admin": access.Role.OWNER,
}


def expected(kind: str, need: access.Need | None, role: str, privacy: Privacy) -> str:
    """What the policy says: "ok", "login" (sent to sign in), "forbidden" or "missing"."""
    signed_in = role != "anonymous"
    if kind == "open":
        return "ok"
    if kind == "signed in":
        return "ok" if signed_in else "login"
    if kind == "admin":
        return "ok" if role == "admin" else "forbidden" if signed_in else "login"
    if kind == "own upload attempt":  # the attempts below are the owner's
        if not signed_in:
            return "login"
        return "ok" if role in ("owner", "admin") else "missing"
    assert need is not None
    if not signed_in and need in access.SIGNED_IN_NEEDS:
        return "login"  # any change needs an account, whether the dataset exists or not
    standing = STANDING[role]
    visible = privacy is not Privacy.PRIVATE or standing >= access.Role.VIEWER
    allowed = {
        access.Need.CATALOGUE: visible,
        access.Need.ASK: visible,
        access.Need.SAMPLES: privacy is Privacy.PUBLIC or standing >= access.Role.VIEWER,
        access.Need.EDIT: standing >= access.Role.EDITOR,
        access.Need.MANAGE: standing >= access.Role.OWNER,
    }[need]
    if allowed:
        return "ok"
    if not visible:
        return "missing"
    return "forbidden" if signed_in else "login"


def outcome(response: Any, method: str) -> str:
    status = response.status_code
    location = response.headers.get("Location", "")
    if status in (301, 302, 303) and "/auth/login" in location:
        return "login"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "missing"
    if status in (200, 302, 303):  # shown, or sent on (a signed-in user away from sign-in)
        return "ok"
    if method == "POST" and status == 400:  # passed the policy; its empty form was refused
        return "ok"
    return f"unexpected {status}"


@pytest.fixture
def world(app: Flask, create_user: Any, create_dataset: Any, tmp_path: Path) -> dict[str, Any]:
    owner = create_user("owner@example.org", name="Owner")
    users = {
        "owner": owner,
        "other": create_user("other@example.org", name="Other"),
        "viewer": create_user("viewer@example.org", name="Viewer"),
        "editor": create_user("editor@example.org", name="Editor"),
        "admin": create_user("admin@example.org", name="Admin", role=Role.ADMIN),
    }
    places: dict[Privacy, dict[str, Any]] = {}
    for privacy in Privacy:
        folder = tmp_path / privacy.value
        folder.mkdir()
        dataset = dataset_with_samples(
            lambda p=privacy: create_dataset(owner, title=f"{p.value} cohort", privacy=p),
            folder,
        )
        curation.add_collaborator(dataset, owner, "viewer@example.org", Membership.VIEWER)
        curation.add_collaborator(dataset, owner, "editor@example.org", Membership.EDITOR)
        path = folder / "table.tsv"
        path.write_bytes(tsv(counts()))
        table = ingest_abundance(dataset, path, "table.tsv", owner)
        assert table.ok, table.report()
        attempt = UploadAttempt(
            token=f"token-{privacy.value}",
            dataset_id=dataset.id,
            user_id=owner.id,
            filename="samples.csv",
            status="rejected",
            report={"error_count": 0, "errors": []},
        )
        db.session.add(attempt)
        db.session.commit()
        places[privacy] = {
            "dataset_id": dataset.id,
            "table_id": table.upload_id,
            "sample": "S1",
            "attempt_id": attempt.id,
            "token": attempt.token,
            # A user who is no collaborator: a permitted removal answers "not a collaborator".
            "user_id": users["other"].id,
            "sample_id": db.session.scalar(
                select(Sample.id).where(Sample.dataset_id == dataset.id, Sample.samp_name == "S1")
            ),
        }
    return {"users": users, "places": places}


def url_values(rule: Any, place: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for argument in rule.arguments:
        if argument == "name":
            checklist = rule.endpoint in ("uploads.template", "api.get_checklist_fields")
            values["name"] = "MimsHumanGut" if checklist else "S1"
        elif argument == "fmt":
            values["fmt"] = "csv"
        elif argument == "filename":
            values["filename"] = "css/fairdb.css"
        else:
            values[argument] = place[argument]
    return values


def test_every_route_declares_its_access(app: Flask) -> None:
    missing = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not hasattr(app.view_functions[rule.endpoint], "access")
    ]
    assert missing == [], f"routes without an access declaration: {missing}"


def test_every_route_answers_as_the_policy_says(
    app: Flask, csrf_on: Flask, world: dict[str, Any]
) -> None:
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint not in ("static",)]
    rules = [rule for rule in rules if not rule.endpoint.startswith("api.")]  # see below
    # Signing out ends the client's session: it goes last for each user.
    rules.sort(key=lambda rule: rule.endpoint == "auth.logout")
    wrong = []
    checked = 0
    for role in ROLES:
        client = app.test_client()
        token = form_token(client, "/auth/login")
        if role != "anonymous":
            signed = client.post(
                "/auth/login",
                data={
                    "email": world["users"][role].email,
                    "password": PASSWORD,
                    "csrf_token": token,
                },
            )
            assert signed.status_code in (302, 303), role
            token = form_token(client, "/datasets/new")
        for rule in rules:
            view = app.view_functions[rule.endpoint]
            kind = view.access.split(":")[0]
            need = getattr(view, "need", None)
            method = "GET" if "GET" in rule.methods else "POST"
            for privacy, place in world["places"].items():
                with app.test_request_context():
                    url = url_for(rule.endpoint, **url_values(rule, place))
                if method == "GET":
                    response = client.get(url, buffered=True)
                else:
                    response = client.post(url, data={"csrf_token": token})
                want = expected(kind, need, role, privacy)
                got = outcome(response, method)
                checked += 1
                if got != want:
                    wrong.append(f"{role:9} {privacy.value:10} {method} {url}: {got}, want {want}")
                if kind in ("open", "signed in", "admin"):
                    break  # not about a dataset: once per user is enough
    assert wrong == [], "\n".join(wrong)
    assert checked > 6 * 3 * 10  # the walk really covered dataset routes for every user


def test_private_dataset_is_absent_from_lists_for_outsiders(
    app: Flask, world: dict[str, Any]
) -> None:
    private = world["places"][Privacy.PRIVATE]["dataset_id"]
    for role in ROLES:
        client = app.test_client()
        if role != "anonymous":
            sign_in(client, world["users"][role].email)
        page = client.get("/datasets").get_data(as_text=True)
        listed = f'/datasets/{private}"' in page
        assert listed is (role in ("viewer", "editor", "owner", "admin")), role


def test_removed_collaborator_loses_access_on_the_next_request(
    app: Flask, world: dict[str, Any]
) -> None:
    place = world["places"][Privacy.RESTRICTED]
    viewer = world["users"]["viewer"]
    client = app.test_client()
    sign_in(client, viewer.email)
    url = f"/datasets/{place['dataset_id']}/samples.csv"
    assert client.get(url).status_code == 200
    # The search keeps its statements per user and query (search._PAGE_STATEMENTS): the
    # membership inside them is read when they run, so removal shows on the same search too.
    search = f"/samples/download.csv?dataset={place['dataset_id']}&sort=name"
    found = client.get(search).get_data(as_text=True).splitlines()[1:]
    assert found
    assert {line.split(",")[0] for line in found} == {str(place["dataset_id"])}
    dataset = db.session.get(Dataset, place["dataset_id"])
    curation.remove_collaborator(dataset, world["users"]["owner"], viewer.id)
    db.session.commit()
    assert client.get(url).status_code == 403
    assert client.get(search).get_data(as_text=True).splitlines()[1:] == []
    history = client.get(f"/datasets/{place['dataset_id']}/history")
    assert history.status_code == 403  # the history is sample-level data too


VIEWER, EDITOR = Membership.VIEWER, Membership.EDITOR


def api_outcome(response: Any) -> str:
    status = response.status_code
    if status in (301, 302, 303):
        return f"redirect to {response.headers.get('Location')}"  # never, in the API
    return {401: "login", 403: "forbidden", 404: "missing"}.get(status) or (
        "ok" if status in (200, 201, 204, 400, 409, 413, 422) else f"unexpected {status}"
    )


def test_every_api_route_answers_as_the_policy_says(
    app: Flask, world: dict[str, Any], create_dataset: Any
) -> None:
    """The same policy through /api/v1 with each user's token: 401 where a page would send
    to the sign-in page, 403, 404, and never a redirect. Deleting uses a fresh dataset of the
    same privacy each time, so the walk goes on over intact data."""
    owner = world["users"]["owner"]
    headers = {"anonymous": {}}
    for role, user in world["users"].items():
        _, plaintext = tokens.create_token(user, "matrix", can_write=True)
        headers[role] = {"Authorization": f"Bearer {plaintext}"}
    db.session.commit()
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")]
    client = app.test_client()
    wrong = []
    checked = 0
    for role in ROLES:
        for rule in rules:
            view = app.view_functions[rule.endpoint]
            kind = view.access.split(":")[0]
            need = getattr(view, "need", None)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                for privacy, place in world["places"].items():
                    values = url_values(rule, place)
                    if rule.endpoint == "api.delete_dataset":
                        doomed = create_dataset(owner, title="doomed", privacy=privacy)
                        for who, level in (
                            ("viewer", Membership.VIEWER),
                            ("editor", Membership.EDITOR),
                        ):
                            curation.add_collaborator(doomed, owner, f"{who}@example.org", level)
                        db.session.commit()
                        values["dataset_id"] = doomed.id
                    with app.test_request_context():
                        url = url_for(rule.endpoint, **values)
                    response = client.open(
                        url, method=method, headers=headers[role], json={}, buffered=True
                    )
                    want = expected(kind, need, role, privacy)
                    got = api_outcome(response)
                    checked += 1
                    if got != want:
                        wrong.append(
                            f"{role:9} {privacy.value:10} {method} {url}: {got}, want {want}"
                        )
                    if kind in ("open", "signed in", "admin"):
                        break
    assert wrong == [], "\n".join(wrong)
    assert checked > 6 * 3 * 10
