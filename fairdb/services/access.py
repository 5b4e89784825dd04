"""The one access policy: who may see or change a dataset and its samples.

Every view, query, export and API route asks here. A dataset the user may not even know about
answers 404 (never 403), so its existence does not leak.
"""

from __future__ import annotations

from typing import Any

from flask import abort
from sqlalchemy import ColumnElement, or_, true

from fairdb.models import Dataset, Privacy


def _is_owner_or_admin(user: Any, dataset: Dataset) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_admin or user.id == dataset.owner_id)


def can_see_dataset(user: Any, dataset: Dataset) -> bool:
    """Its description and citation: public and restricted datasets are findable by anyone."""
    return dataset.privacy is not Privacy.PRIVATE or _is_owner_or_admin(user, dataset)


def can_see_samples(user: Any, dataset: Dataset) -> bool:
    """Sample-level data: public for all; restricted and private only for owner and admins."""
    return dataset.privacy is Privacy.PUBLIC or _is_owner_or_admin(user, dataset)


def can_edit_dataset(user: Any, dataset: Dataset) -> bool:
    return _is_owner_or_admin(user, dataset)


def visible_datasets(user: Any) -> ColumnElement[bool]:
    """A WHERE clause selecting the datasets whose description the user may see."""
    if user is not None and getattr(user, "is_authenticated", False):
        if user.is_admin:
            return true()
        return or_(Dataset.privacy != Privacy.PRIVATE, Dataset.owner_id == user.id)
    return Dataset.privacy != Privacy.PRIVATE


def require(allowed: bool, *, exists_for_user: bool = True) -> None:
    """Stop the request: 404 when the user may not know the thing exists, else 403."""
    if not allowed:
        abort(403 if exists_for_user else 404)
