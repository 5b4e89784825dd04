"""Personal API tokens: the account page, the service the API calls, and the CLI command."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from fairdb.extensions import db
from fairdb.models import ApiToken
from fairdb.services import tokens
from tests.conftest import PASSWORD, form_token, sign_in

TOKEN = re.compile(r"fdb_[A-Za-z0-9_-]{43}")


def create_on_page(client, name="laptop", *, write=False, csrf=None):
    data = {"name": name}
    if write:
        data["can_write"] = "y"
    if csrf is not None:
        data["csrf_token"] = csrf
    return client.post("/auth/account", data=data)


def shown_token(response) -> str:
    found = TOKEN.findall(response.get_data(as_text=True))
    assert len(found) == 1, response.get_data(as_text=True)
    return found[0]


def stored(user) -> list[ApiToken]:
    db.session.expire_all()
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)))


def test_created_token_is_shown_once_and_stored_only_as_its_hash(app, client, create_user):
    user = create_user("ada@example.org")
    sign_in(client, user.email)
    response = create_on_page(client, "analysis laptop", write=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "it will not be shown again" in page
    assert response.headers["Cache-Control"] == "no-store"
    plaintext = shown_token(response)

    # Not kept in the (signed, readable) session cookie either.
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    session = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert plaintext not in repr(session)

    again = client.get("/auth/account").get_data(as_text=True)
    assert TOKEN.search(again) is None
    assert "analysis laptop" in again
    assert plaintext[:12] in again
    assert "<td>read+write</td>" in again

    [row] = stored(user)
    assert row.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in (row.token_hash, row.prefix, row.name)
    assert row.prefix == plaintext[:12]
    assert row.can_write is True
    assert row.revoked_at is None


def test_read_only_is_the_default(client, create_user):
    user = create_user()
    sign_in(client, user.email)
    plaintext = shown_token(create_on_page(client, "reader"))
    [row] = stored(user)
    assert row.can_write is False
    token = tokens.authenticate(plaintext)
    assert token is not None
    assert token.can_write is False
    listed = client.get("/auth/account").get_data(as_text=True)
    assert "<td>read</td>" in listed
    assert "<td>read+write</td>" not in listed


def test_authenticate_accepts_the_token_and_rejects_others(client, create_user):
    user = create_user()
    sign_in(client, user.email)
    plaintext = shown_token(create_on_page(client))
    token = tokens.authenticate(plaintext)
    assert token is not None
    assert token.user.id == user.id
    assert token.last_used_at is not None
    wrong = plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")
    assert tokens.authenticate(wrong) is None
    assert tokens.authenticate(plaintext[4:]) is None  # without the fdb_ prefix
    assert tokens.authenticate("") is None
    assert tokens.authenticate(plaintext + "x" * 10_000) is None


def test_revoking_on_the_page_stops_the_token(client, csrf_on, create_user):
    user = create_user()
    login = {"email": user.email, "password": PASSWORD}
    client.post("/auth/login", data={**login, "csrf_token": form_token(client, "/auth/login")})
    plaintext = shown_token(create_on_page(client, "ci", csrf=form_token(client, "/auth/account")))
    [row] = stored(user)
    assert tokens.authenticate(plaintext) is not None

    # Without the CSRF token the button does nothing.
    refused = client.post("/auth/account/revoke", data={"token_id": row.id})
    assert refused.status_code == 400
    assert tokens.authenticate(plaintext) is not None

    csrf = form_token(client, "/auth/account")
    response = client.post("/auth/account/revoke", data={"token_id": row.id, "csrf_token": csrf})
    assert response.status_code == 303
    assert "revoked" in client.get(response.headers["Location"]).get_data(as_text=True)
    [row] = stored(user)
    assert row.revoked_at is not None
    assert tokens.authenticate(plaintext) is None


def test_another_user_cannot_revoke_it(app, client, create_user):
    owner = create_user("owner@example.org")
    sign_in(client, owner.email)
    plaintext = shown_token(create_on_page(client, "owner's pipeline"))
    [row] = stored(owner)

    intruder = app.test_client()
    sign_in(intruder, create_user("mallory@example.org").email)
    response = intruder.post("/auth/account/revoke", data={"token_id": row.id})
    assert response.status_code == 404
    assert tokens.authenticate(plaintext) is not None
    assert "pipeline" not in intruder.get("/auth/account").get_data(as_text=True)
    [row] = stored(owner)
    assert row.revoked_at is None


def test_duplicate_names_are_refused_until_the_first_is_revoked(client, create_user):
    user = create_user()
    sign_in(client, user.email)
    shown_token(create_on_page(client, "laptop"))
    duplicate = create_on_page(client, " Laptop ")
    assert duplicate.status_code == 400
    page = duplicate.get_data(as_text=True)
    assert "You already have a token named" in page
    assert TOKEN.search(page) is None
    [row] = stored(user)

    client.post("/auth/account/revoke", data={"token_id": row.id})
    assert create_on_page(client, "laptop").status_code == 200
    assert len(stored(user)) == 2


def test_names_must_be_1_to_100_characters(client, create_user):
    user = create_user()
    sign_in(client, user.email)
    assert create_on_page(client, "   ").status_code == 400
    too_long = create_on_page(client, "x" * 101)
    assert too_long.status_code == 400
    assert "at most 100 characters" in too_long.get_data(as_text=True)
    assert create_on_page(client, "x" * 100).status_code == 200
    assert [len(t.name) for t in stored(user)] == [100]


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/auth/account")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    posted = client.post("/auth/account", data={"name": "sneaky"})
    assert posted.status_code == 302
    assert "/auth/login" in posted.headers["Location"]


def test_navigation_links_to_the_account_for_signed_in_users(client, create_user):
    assert 'href="/auth/account"' not in client.get("/").get_data(as_text=True)
    sign_in(client, create_user().email)
    assert 'href="/auth/account"' in client.get("/").get_data(as_text=True)


def test_disabled_accounts_tokens_stop_working(create_user):
    user = create_user()
    _, plaintext = tokens.create_token(user, "script", can_write=False)
    assert tokens.authenticate(plaintext) is not None
    user.is_active = False
    db.session.flush()
    assert tokens.authenticate(plaintext) is None


def test_last_use_is_recorded_at_most_once_a_minute(create_user):
    user = create_user()
    token, plaintext = tokens.create_token(user, "script", can_write=False)
    recent = datetime.now(UTC) - timedelta(seconds=30)
    token.last_used_at = recent
    tokens.authenticate(plaintext)
    assert token.last_used_at == recent
    token.last_used_at = datetime.now(UTC) - timedelta(minutes=2)
    tokens.authenticate(plaintext)
    assert token.last_used_at is not None
    assert token.last_used_at > recent


def test_cli_prints_a_working_token_as_its_last_line(app, create_user):
    user = create_user("robot@example.org")
    result = app.test_cli_runner().invoke(
        args=["fairdb", "create-token", "Robot@Example.org", "--name", "nightly", "--write"]
    )
    assert result.exit_code == 0, result.output
    plaintext = result.output.strip().splitlines()[-1]
    assert result.stdout.strip() == plaintext  # alone on stdout: $(...) captures just the token
    token = tokens.authenticate(plaintext)
    assert token is not None
    assert token.user_id == user.id
    assert token.name == "nightly"
    assert token.can_write is True


def test_cli_refuses_an_unknown_address(app):
    result = app.test_cli_runner().invoke(
        args=["fairdb", "create-token", "nobody@example.org", "--name", "x"]
    )
    assert result.exit_code != 0
    assert "No account with the address nobody@example.org" in result.output
    assert TOKEN.search(result.output) is None
