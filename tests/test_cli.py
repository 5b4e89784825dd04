"""The operator's `flask fairdb create-user` command."""

from __future__ import annotations

from fairdb.extensions import db
from fairdb.models import Role, User
from fairdb.services.passwords import verify_password
from tests.conftest import PASSWORD, sign_in


def _user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.query(User).filter_by(email=email).one_or_none()


def test_create_admin_with_password_from_stdin(app, client):
    result = app.test_cli_runner().invoke(
        args=[
            "fairdb",
            "create-user",
            "Root@Example.org",
            "--name",
            "Lab Admin",
            "--admin",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "created admin root@example.org" in result.output
    user = _user("root@example.org")
    assert user is not None
    assert user.role is Role.ADMIN
    assert verify_password(user.password_hash, PASSWORD)
    assert sign_in(client, "root@example.org").status_code == 302


def test_create_researcher_with_prompted_password(app):
    result = app.test_cli_runner().invoke(
        args=["fairdb", "create-user", "ann@example.org", "--name", "Ann"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    user = _user("ann@example.org")
    assert user is not None
    assert user.role is Role.RESEARCHER


def test_weak_password_and_taken_address_are_refused(app, create_user):
    runner = app.test_cli_runner()
    weak = runner.invoke(
        args=["fairdb", "create-user", "bob@example.org", "--name", "Bob", "--password-stdin"],
        input="short\n",
    )
    assert weak.exit_code != 0
    assert "Use at least 10 characters" in weak.output
    assert _user("bob@example.org") is None
    create_user("taken@example.org")
    taken = runner.invoke(
        args=["fairdb", "create-user", "taken@example.org", "--name", "T", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert taken.exit_code != 0
    assert "already exists" in taken.output
