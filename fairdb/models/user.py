"""Accounts and their server-side sign-in sessions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fairdb.models.base import Base, Timestamped, utcnow


class Role(enum.StrEnum):
    """What an account may do beyond its own data."""

    RESEARCHER = "researcher"
    ADMIN = "admin"


class User(Timestamped, Base):
    """A person who signs in."""

    __tablename__ = "users"
    # Lets current_session below be a plain (unmapped) attribute.
    __allow_unmapped__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased by the accounts service: one account per address, whatever its case.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="user_role", values_callable=lambda e: [m.value for m in e]),
        default=Role.RESEARCHER,
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    sessions: Mapped[list[AuthSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    # Set by the user loader: the sign-in session this request belongs to.
    current_session: AuthSession | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # Flask-Login keeps this in the cookie: the session's token, never the user id,
        # so that ending the session server-side makes every copy of the cookie worthless.
        if self.current_session is None:
            raise RuntimeError("a user is signed in only through an AuthSession")
        return self.current_session.token_id


class AuthSession(Base):
    """One sign-in: deleted at sign-out, so a replayed cookie finds nothing."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship(back_populates="sessions")
