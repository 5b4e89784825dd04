"""Password hashing (argon2id) and the rules a new password must meet."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash verified against when the account does not exist, so timing does not reveal
    which exist. Made on first use: hashing takes argon2's 64 MiB, which at import time put a
    spike into every process's peak memory (a download's included)."""
    return _hasher.hash("fairdb-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str, *, min_length: int, personal: list[str]) -> list[str]:
    """What is wrong with a new password, in words a user can act on (empty when it is fine)."""
    if len(password) < min_length:
        return [f"Use at least {min_length} characters (this one has {len(password)})."]
    if len(password) > 256:
        return ["Use at most 256 characters."]
    verdict = zxcvbn(password[:100], user_inputs=[p for p in personal if p])
    if verdict["score"] >= 2:
        return []
    warning = verdict["feedback"].get("warning") or "This password is too easy to guess."
    hints = " ".join(verdict["feedback"].get("suggestions") or [])
    return [f"Too common or easy to guess: {warning.rstrip('.')}. {hints}".strip()]
