"""Accounts: creating users, checking credentials, and the server-side sign-in sessions."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fairdb.models import AuthSession, Role, User
from fairdb.services.passwords import hash_password, verify_password


class AccountError(ValueError):
    """A request about an account that cannot be met; the message is for the user."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(
    session: Session, *, email: str, display_name: str, password: str, role: Role = Role.RESEARCHER
) -> User:
    """Add an account; raises AccountError when the address is taken."""
    if find_user(session, email) is not None:
        raise AccountError(f"An account with the address {normalise_email(email)} already exists.")
    user = User(
        email=normalise_email(email),
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        role=role,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same cost whether the account exists)."""
    user = find_user(session, email)
    ok = verify_password(user.password_hash if user else None, password)
    return user if ok and user is not None and user.is_active else None


def open_session(
    session: Session, user: User, *, ip_address: str | None, user_agent: str | None
) -> AuthSession:
    """Record a new sign-in and attach it to the user for Flask-Login."""
    auth = AuthSession(
        token_id=secrets.token_urlsafe(32),
        user=user,
        ip_address=ip_address,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(auth)
    user.last_login_at = datetime.now(UTC)
    user.current_session = auth
    session.flush()
    return auth


def load_session(session: Session, token_id: str, *, max_age: timedelta) -> User | None:
    """The user behind a session token, if that sign-in still exists and has not expired."""
    auth = session.scalar(select(AuthSession).where(AuthSession.token_id == token_id))
    if auth is None or not auth.user.is_active:
        return None
    now = datetime.now(UTC)
    if now - auth.created_at > max_age:
        session.delete(auth)
        return None
    if now - auth.last_seen_at > timedelta(minutes=5):
        auth.last_seen_at = now
    auth.user.current_session = auth
    return auth.user


def close_session(session: Session, token_id: str) -> None:
    """End one sign-in: its cookie, wherever copied, no longer signs anyone in."""
    session.execute(delete(AuthSession).where(AuthSession.token_id == token_id))


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0
