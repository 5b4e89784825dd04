"""Accounts: creating users, checking credentials, and the server-side sign-in sessions."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from fairdb.extensions import db
from fairdb.models import AuthSession, Role, User
from fairdb.services.passwords import hash_password, verify_password


class AccountError(ValueError):
    """A request about an account that cannot be met; the message is for the user."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(
    *, email: str, display_name: str, password: str, role: Role = Role.RESEARCHER
) -> User:
    """Add an account; raises AccountError when the address is taken."""
    if find_user(email) is not None:
        raise AccountError(f"An account with the address {normalise_email(email)} already exists.")
    user = User(
        email=normalise_email(email),
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        role=role,
    )
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same cost whether the account exists)."""
    user = find_user(email)
    ok = verify_password(user.password_hash if user else None, password)
    return user if ok and user is not None and user.is_active else None


def open_session(user: User, *, ip_address: str | None, user_agent: str | None) -> AuthSession:
    """Record a new sign-in and attach it to the user for Flask-Login."""
    auth = AuthSession(
        token_id=secrets.token_urlsafe(32),
        user=user,
        ip_address=ip_address,
        user_agent=(user_agent or "")[:300] or None,
    )
    db.session.add(auth)
    user.last_login_at = datetime.now(UTC)
    user.current_session = auth
    db.session.flush()
    return auth


def load_session(token_id: str, *, max_age: timedelta) -> User | None:
    """The user behind a session token, if that sign-in still exists and has not expired."""
    auth = db.session.scalar(select(AuthSession).where(AuthSession.token_id == token_id))
    if auth is None or not auth.user.is_active:
        return None
    now = datetime.now(UTC)
    if now - auth.created_at > max_age:
        db.session.delete(auth)
        return None
    if now - auth.last_seen_at > timedelta(minutes=5):
        auth.last_seen_at = now
    auth.user.current_session = auth
    return auth.user


def close_session(token_id: str) -> None:
    """End one sign-in: its cookie, wherever copied, no longer signs anyone in."""
    db.session.execute(delete(AuthSession).where(AuthSession.token_id == token_id))


def count_users() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0
