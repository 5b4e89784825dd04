"""Personal API tokens: creating, listing and revoking them, and recognising one on a request."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import contains_eager

from fairdb.extensions import db
from fairdb.models import ApiToken, User

PREFIX = "fdb_"
# What the owner sees in the list: "fdb_" and 8 random characters, enough to tell tokens apart.
SHOWN_PREFIX_LENGTH = 12
NAME_MAX_LENGTH = 100
# A token is "fdb_" and 43 characters; anything much longer is not one of ours.
PLAINTEXT_MAX_LENGTH = 64
# Recording every use would turn each read-only API call into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    """A token request that cannot be met; the message is for the user."""


def hash_token(plaintext: str) -> str:
    """The SHA-256 hex digest stored in place of the token.

    A plain fast hash is enough: the token holds 256 random bits, so nobody can guess it from
    the digest however many guesses per second they make (unlike a password, which needs a
    slow hash such as argon2 because people choose guessable ones).
    """
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def _clean_name(user: User, name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise TokenError("Give the token a name, such as the script or machine that will use it.")
    if len(cleaned) > NAME_MAX_LENGTH:
        raise TokenError(f"Use at most {NAME_MAX_LENGTH} characters for the token's name.")
    taken = db.session.scalar(
        select(ApiToken.id).where(
            ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None),
            func.lower(ApiToken.name) == cleaned.lower(),
        )
    )
    if taken is not None:
        raise TokenError(
            f"You already have a token named {cleaned!r}: choose another name, "
            "or revoke the old token first."
        )
    return cleaned


def create_token(user: User, name: str, *, can_write: bool) -> tuple[ApiToken, str]:
    """A new token for the user, and its plaintext: the only time anyone sees it.

    Raises TokenError when the name is empty, too long, or already used by one of the user's
    live (unrevoked) tokens, compared without regard to case.
    """
    cleaned = _clean_name(user, name)
    plaintext = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=cleaned,
        prefix=plaintext[:SHOWN_PREFIX_LENGTH],
        token_hash=hash_token(plaintext),
        can_write=can_write,
    )
    db.session.add(token)
    db.session.flush()
    return token, plaintext


# Built once: every API call with a token runs it.
_LIVE_TOKEN = (
    select(ApiToken)
    .join(ApiToken.user)
    .options(contains_eager(ApiToken.user))
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        User.is_active.is_(True),
    )
)


def authenticate(plaintext: str) -> ApiToken | None:
    """The live token with this plaintext, its active user loaded as `token.user`, or None.

    Looking the token up by its hash, not comparing plaintexts, is what keeps this safe against
    timing attacks: how long the index search takes says something about the digest, which
    tells an attacker nothing about any token. `last_used_at` moves at most once a minute and
    is only set, not flushed: the caller sees the session dirty and commits it (a flushed update
    left no trace for the caller, was rolled back with each GET, and held the token's row lock
    until then, so requests with one token ran one at a time).
    """
    if not plaintext.startswith(PREFIX) or len(plaintext) > PLAINTEXT_MAX_LENGTH:
        return None
    token = db.session.scalar(_LIVE_TOKEN, {"token_hash": hash_token(plaintext)})
    if token is None:
        return None
    now = datetime.now(UTC)
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token


def list_tokens(user: User) -> list[ApiToken]:
    """All the user's tokens, revoked ones included, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(user: User, token_id: int) -> ApiToken | None:
    """Revoke one of the user's own tokens; None when they have no token with that id.

    Revoking a revoked token changes nothing (it keeps the time it was first revoked).
    """
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
    if token is None:
        return None
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        db.session.flush()
    return token
