"""Helpers of the API tests: tokens and authorised calls."""

from __future__ import annotations

from typing import Any

from fairdb.extensions import db
from fairdb.services import tokens


def bearer(user: Any, *, write: bool = True, name: str = "tests") -> dict[str, str]:
    """An Authorization header with a new token of the user (committed, as the page would)."""
    _, plaintext = tokens.create_token(user, name, can_write=write)
    db.session.commit()
    return {"Authorization": f"Bearer {plaintext}"}
