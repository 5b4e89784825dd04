"""Registration, sign-in and sign-out through the real forms."""

from __future__ import annotations

from fairdb.extensions import db
from fairdb.models import AuthSession, User
from tests.conftest import PASSWORD, form_token, sign_in


def register(client, **fields):
    data = {
        "email": "grace@example.org",
        "display_name": "Grace Hopper",
        "password": PASSWORD,
        "confirm": PASSWORD,
        **fields,
    }
    return client.post("/auth/register", data=data)


def test_register_signs_in_and_shows_the_name(client):
    response = register(client)
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="nav-user">Grace Hopper<' in page
    db.session.expire_all()
    user = db.session.query(User).filter_by(email="grace@example.org").one()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_email_is_case_insensitive_and_taken_addresses_are_refused(client, create_user):
    create_user("ada@example.org")
    response = register(client, email="ADA@Example.org ")
    assert response.status_code == 400
    assert "An account with the address ada@example.org already exists" in response.get_data(
        as_text=True
    )


def test_register_says_exactly_what_is_wrong(client):
    short = register(client, password="abc12", confirm="abc12")
    assert "Use at least 10 characters (this one has 5)" in short.get_data(as_text=True)
    common = register(client, password="password123", confirm="password123")
    assert "Too common or easy to guess" in common.get_data(as_text=True)
    differ = register(client, confirm=PASSWORD + "x")
    assert "The two passwords differ" in differ.get_data(as_text=True)
    bad_email = register(client, email="not-an-address")
    assert "Enter an email address like name@example.org" in bad_email.get_data(as_text=True)
    assert {short.status_code, common.status_code, differ.status_code} == {400}
    assert db.session.query(User).count() == 0


def test_login_with_wrong_password_is_401_and_does_not_say_which_part(client, create_user):
    user = create_user()
    response = sign_in(client, user.email, "wrong password entirely")
    assert response.status_code == 401
    assert "The email address or the password is wrong" in response.get_data(as_text=True)
    unknown = sign_in(client, "nobody@example.org")
    assert unknown.status_code == 401
    assert "The email address or the password is wrong" in unknown.get_data(as_text=True)


def test_forms_without_a_csrf_token_are_refused(csrf_on, client, create_user):
    user = create_user()
    response = sign_in(client, user.email)
    assert response.status_code == 400
    assert "nav-user" not in client.get("/").get_data(as_text=True)
    refused = register(client)
    assert refused.status_code == 400
    assert db.session.query(User).count() == 1


def test_forms_with_the_csrf_token_work(csrf_on, client, create_user):
    user = create_user()
    token = form_token(client, "/auth/login")
    response = client.post(
        "/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    # Sign-out is a POST that needs the token too.
    assert client.post("/auth/logout").status_code == 400
    token = form_token(client, "/")
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert "nav-user" not in client.get("/").get_data(as_text=True)


def test_failed_logins_are_throttled_per_account(client, create_user):
    user = create_user()
    for _ in range(5):
        assert sign_in(client, user.email, "wrong password entirely").status_code == 401
    blocked = sign_in(client, user.email)  # even the right password waits now
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    assert int(blocked.headers["Retry-After"]) > 0
    # Another account from the same address is not locked by this one's failures.
    other = create_user()
    assert sign_in(client, other.email).status_code == 302


def test_failed_logins_are_throttled_per_address(client, create_user):
    user = create_user()
    for number in range(20):
        assert sign_in(client, f"guess{number}@example.org", "x" * 12).status_code == 401
    assert sign_in(client, user.email).status_code == 429
    elsewhere = client.post(
        "/auth/login",
        data={"email": user.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert elsewhere.status_code == 302


def test_successful_logins_do_not_count_against_the_limit(client, create_user):
    user = create_user()
    for _ in range(8):
        assert sign_in(client, user.email).status_code == 302
        client.post("/auth/logout")


def test_next_redirects_only_to_this_site(client, create_user):
    user = create_user()
    attempts = [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "%2F%2Fevil.example",
    ]
    for target in attempts:
        response = client.post(
            "/auth/login",
            query_string={"next": target},
            data={"email": user.email, "password": PASSWORD},
        )
        assert response.status_code == 302
        assert response.headers["Location"] == "/", target
        client.post("/auth/logout")
    response = client.post(
        "/auth/login",
        query_string={"next": "/healthz?x=1"},
        data={"email": user.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/healthz?x=1"


def test_a_new_session_on_every_sign_in(client, create_user):
    user = create_user()
    with client.session_transaction() as planted:
        planted["planted"] = "by an attacker"
    sign_in(client, user.email)
    with client.session_transaction() as current:
        assert "planted" not in current
        first = current["_user_id"]
    client.post("/auth/logout")
    sign_in(client, user.email)
    with client.session_transaction() as current:
        assert current["_user_id"] != first


def test_a_copied_cookie_is_rejected_after_sign_out(app, create_user):
    user = create_user()
    victim = app.test_client()
    sign_in(victim, user.email)
    stolen = victim.get_cookie("fairdb_session").value
    thief = app.test_client()
    thief.set_cookie("fairdb_session", stolen)
    assert "nav-user" in thief.get("/").get_data(as_text=True)
    victim.post("/auth/logout")
    thief.set_cookie("fairdb_session", stolen)
    assert "nav-user" not in thief.get("/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.query(AuthSession).filter_by(user_id=user.id).count() == 0


def test_deactivated_accounts_are_signed_out(client, create_user):
    user = create_user()
    sign_in(client, user.email)
    user.is_active = False
    db.session.commit()
    assert "nav-user" not in client.get("/").get_data(as_text=True)
    assert sign_in(client, user.email).status_code == 401


def test_logout_is_post_only(client, create_user):
    user = create_user()
    sign_in(client, user.email)
    assert client.get("/auth/logout").status_code == 405
    assert "nav-user" in client.get("/").get_data(as_text=True)
