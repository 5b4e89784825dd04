"""The one access policy: who may see or change a dataset and its samples.

Every view declares what it needs with one of the decorators below (`open_route`,
`signed_in_route`, `dataset_route(need)`, `attempt_route`); the dataset decorators load the
dataset, enforce the need and hand the view the dataset. Queries across datasets filter with
`visible_datasets` and `readable_samples`. tests/test_access_matrix.py walks `app.url_map` and
fails for any route without a declaration.

- public: everyone sees the description and the samples.
- restricted: everyone sees the description (so it can be found); samples, abundance data,
  previews, statistics and downloads only members (owner, collaborators) and admins.
- private: only members and admins; to anyone else it does not exist (404).
- A sample's own privacy can only tighten its dataset's.

Denied: an anonymous visitor is sent to sign in for any change (uploads, edits, settings),
whether the dataset exists or not; otherwise 404 when the user may not know the dataset exists,
the sign-in page for an anonymous visitor, 403 for a signed-in user.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import abort, g, request
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, any_, false, func, or_, select, true
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from fairdb.extensions import db, login_manager
from fairdb.models import (
    Collaborator,
    Dataset,
    Membership,
    Privacy,
    Sample,
    SampleFacet,
    Upload,
    UploadAttempt,
)

View = TypeVar("View", bound=Callable[..., Any])


class Role(enum.IntEnum):
    """A user's standing on one dataset, weakest first; admins act as owners."""

    NONE = 0
    VIEWER = 1
    EDITOR = 2
    OWNER = 3


class Need(enum.StrEnum):
    """What a dataset route needs."""

    CATALOGUE = "catalogue"  # the description: title, creators, license, citation
    ASK = "ask"  # a noisy summary, paid from the privacy budget: the catalogue, signed in
    SAMPLES = "samples"  # sample records, abundance data, statistics, downloads
    EDIT = "edit"  # uploads, metadata and sample edits
    MANAGE = "manage"  # collaborators, privacy, deletion


SIGNED_IN_NEEDS = (Need.ASK, Need.EDIT, Need.MANAGE)


def _signed_in(user: Any) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def role(user: Any, dataset: Dataset) -> Role:
    """The user's role on the dataset, asked once per request and dataset."""
    if not _signed_in(user):
        return Role.NONE
    if user.is_admin or user.id == dataset.owner_id:
        return Role.OWNER
    cache: dict[tuple[int, int], Role] = g.setdefault("fairdb_roles", {})
    key = (user.id, dataset.id)
    if key not in cache:
        membership = db.session.scalar(
            select(Collaborator.role).where(
                Collaborator.dataset_id == dataset.id, Collaborator.user_id == user.id
            )
        )
        cache[key] = {
            None: Role.NONE,
            Membership.VIEWER: Role.VIEWER,
            Membership.EDITOR: Role.EDITOR,
        }[membership]
    return cache[key]


def can_see_dataset(user: Any, dataset: Dataset) -> bool:
    """Its description and citation: public and restricted datasets are findable by anyone."""
    return dataset.privacy is not Privacy.PRIVATE or role(user, dataset) >= Role.VIEWER


def can_see_samples(user: Any, dataset: Dataset) -> bool:
    """Sample-level data of the dataset as a whole."""
    return dataset.privacy is Privacy.PUBLIC or role(user, dataset) >= Role.VIEWER


def can_see_sample(user: Any, dataset: Dataset, sample: Sample) -> bool:
    """One sample: its own privacy can only make it harder to see than its dataset."""
    if role(user, dataset) >= Role.VIEWER:
        return True
    return dataset.privacy.at_least(sample.privacy) is Privacy.PUBLIC


def can_see_all_samples(user: Any, dataset: Dataset) -> bool:
    """Whether every sample of the dataset is visible to the user (none of a tighter privacy
    of its own hides from them); aggregate statistics over all of them need this."""
    if role(user, dataset) >= Role.VIEWER:
        return True
    if dataset.privacy is not Privacy.PUBLIC:
        return False
    hidden = db.session.scalar(
        select(SampleFacet.id)
        .where(SampleFacet.dataset_id == dataset.id, SampleFacet.open.is_(False))
        .limit(1)
    )
    return hidden is None


def hidden_samples(user: Any, dataset: Dataset) -> frozenset[int]:
    """Ids of the dataset's samples the user may not see although they may see the dataset's
    samples (those of a tighter privacy of their own): charts and tables leave them out."""
    if can_see_all_samples(user, dataset):
        return frozenset()
    return frozenset(
        db.session.scalars(
            select(Sample.id).where(
                Sample.dataset_id == dataset.id,
                Sample.privacy.is_not(None),
                Sample.privacy != Privacy.PUBLIC,
            )
        )
    )


def can_edit_dataset(user: Any, dataset: Dataset) -> bool:
    return role(user, dataset) >= Role.EDITOR


def can_manage_dataset(user: Any, dataset: Dataset) -> bool:
    return role(user, dataset) >= Role.OWNER


ALLOWED: dict[Need, Callable[[Any, Dataset], bool]] = {
    Need.CATALOGUE: can_see_dataset,
    Need.ASK: can_see_dataset,
    Need.SAMPLES: can_see_samples,
    Need.EDIT: can_edit_dataset,
    Need.MANAGE: can_manage_dataset,
}


def _member_datasets(user: Any) -> Any:
    return select(Collaborator.dataset_id).where(Collaborator.user_id == user.id)


def visible_datasets(user: Any) -> ColumnElement[bool]:
    """A WHERE clause selecting the datasets whose description the user may see."""
    if _signed_in(user):
        if user.is_admin:
            return true()
        return or_(
            Dataset.privacy != Privacy.PRIVATE,
            Dataset.owner_id == user.id,
            Dataset.id.in_(_member_datasets(user)),
        )
    return Dataset.privacy != Privacy.PRIVATE


def member_datasets(user: Any) -> ColumnElement[bool]:
    """A WHERE clause on datasets the user owns or collaborates on (everything, for admins)."""
    if not _signed_in(user):
        return false()
    if user.is_admin:
        return true()
    return or_(Dataset.owner_id == user.id, Dataset.id.in_(_member_datasets(user)))


def _readable_ids(user: Any, *, walked: bool = False) -> tuple[Any, Any | None]:
    """(public datasets, datasets the user is a member of or None when signed out) as arrays
    computed inside the statement that uses them: PostgreSQL runs each once per statement (an
    InitPlan), so queries over many samples filter on dataset ids without joining every sample
    to its dataset, and without a round trip of their own before it.

    `walked`: as subqueries for IN instead, for statements that walk most readable samples in
    id order (downloads). PostgreSQL cannot tell how many samples an array it has not yet
    computed matches; guessing few, it sorted 400,000 rows to find one id (1 s, not 18 ms)."""
    public = select(Dataset.id).where(Dataset.privacy == Privacy.PUBLIC)
    member = select(Dataset.id).where(member_datasets(user)) if _signed_in(user) else None
    if walked:
        return public, member
    return (
        func.array(public.scalar_subquery()),
        func.array(member.scalar_subquery()) if member is not None else None,
    )


def _among(column: Any, ids: Any) -> ColumnElement[bool]:
    """`column = ANY(ids)` for an ARRAY(subquery) (no rows: an empty array, no match), else
    `column IN (ids)` for a subquery."""
    if isinstance(ids, Select):
        return column.in_(ids)  # type: ignore[no-any-return]
    return column == any_(ids)  # type: ignore[no-any-return]


def clause_key(user: Any) -> tuple[Any, ...]:
    """What the clauses below depend on for this user (statements built from them may be
    kept and run again for the same key): who they are and whether they are an admin.
    Memberships and privacy are read inside the statements, when they run."""
    if not _signed_in(user):
        return ("anonymous",)
    return (user.id, bool(user.is_admin))


def readable_samples(user: Any, *, walked: bool = False) -> ColumnElement[bool]:
    """A WHERE clause on samples the user may see record by record: samples of public datasets
    without a tighter privacy of their own, and every sample of the datasets they are a member
    of (all, for admins). `walked`: see _readable_ids."""
    if _signed_in(user) and user.is_admin:
        return true()
    public, member = _readable_ids(user, walked=walked)
    open_public = _among(Sample.dataset_id, public) & (
        Sample.privacy.is_(None) | (Sample.privacy == Privacy.PUBLIC)
    )
    return (
        or_(open_public, _among(Sample.dataset_id, member)) if member is not None else open_public
    )


def readable_facets(user: Any) -> ColumnElement[bool]:
    """The same rule as `readable_samples`, on per-upload facet counts: `open` counts are
    samples without a privacy of their own tighter than public."""
    if _signed_in(user) and user.is_admin:
        return true()
    public, member = _readable_ids(user)
    open_public = _among(SampleFacet.dataset_id, public) & SampleFacet.open
    if member is None:
        return open_public
    return or_(open_public, _among(SampleFacet.dataset_id, member))


def readable_id_range(user: Any, after: Any) -> tuple[Any, Any] | None:
    """Two scalar subqueries bounding the ids above `after` that `readable_samples` may let
    through, from the id ranges of the readable datasets' uploads (every sample comes from an
    upload; PostgreSQL runs each subquery once per statement). A keyset page in id order then
    starts its index scan at the first readable upload ahead and stops after the last, instead
    of filtering its way through datasets the user may not see. None for admins."""
    if _signed_in(user) and user.is_admin:
        return None
    public, member = _readable_ids(user)
    among = _among(Upload.dataset_id, public)
    if member is not None:
        among = or_(among, _among(Upload.dataset_id, member))
    readable = (among, Upload.kind == "samples")
    # An upload without a recorded range (migration 0009 filled the old ones) disables the
    # jump: correct, only slower.
    unbounded = 2**63 - 1
    ahead = Upload.last_sample_id.is_(None) | (Upload.last_sample_id > after)
    floor = select(func.min(func.coalesce(Upload.first_sample_id, 0))).where(*readable, ahead)
    ceiling = select(func.max(func.coalesce(Upload.last_sample_id, unbounded))).where(*readable)
    # No readable upload at all: the ceiling 0 ends the page at once.
    return (
        func.coalesce(floor.scalar_subquery(), 0),
        func.coalesce(ceiling.scalar_subquery(), 0),
    )


def samples_of(user: Any, dataset: Dataset) -> ColumnElement[bool]:
    """A WHERE clause on one dataset's samples (whose route checked Need.SAMPLES): members see
    all of them, others only those whose own privacy does not tighten the dataset's."""
    if role(user, dataset) >= Role.VIEWER:
        return Sample.dataset_id == dataset.id
    return (Sample.dataset_id == dataset.id) & (
        Sample.privacy.is_(None) | (Sample.privacy == Privacy.PUBLIC)
    )


def require(allowed: bool, *, exists_for_user: bool = True) -> None:
    """Stop the request: 404 when the user may not know the thing exists, else the sign-in
    page for an anonymous visitor and 403 for a signed-in one."""
    if allowed:
        return
    if not exists_for_user:
        abort(404)
    if not _signed_in(current_user):
        if request.blueprint == "api":  # API clients get 401, never a sign-in page
            raise Unauthorized(
                "This needs a token: send 'Authorization: Bearer <token>'.",
                www_authenticate=WWWAuthenticate("bearer", {"realm": "fairdb"}),
            )
        abort(login_manager.unauthorized())
    abort(403)


def open_route(view: View) -> View:
    """Anyone may call it (the view filters what it shows through this module)."""
    view.access = "open"  # type: ignore[attr-defined]
    return view


def signed_in_route(view: View) -> View:
    """Any signed-in user (their own things: new dataset, account)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        require(_signed_in(current_user))
        return view(*args, **kwargs)

    wrapped.access = "signed in"  # type: ignore[attr-defined]
    return cast(View, wrapped)


def admin_route(view: View) -> View:
    """Administrators only (site-wide audit pages)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        require(_signed_in(current_user))
        require(bool(current_user.is_admin))
        return view(*args, **kwargs)

    wrapped.access = "admin"  # type: ignore[attr-defined]
    return cast(View, wrapped)


def dataset_route(need: Need) -> Callable[[View], View]:
    """A route under /datasets/<dataset_id>: loads the dataset, enforces the need, and calls
    the view with `dataset=` in place of `dataset_id=`."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(*args: Any, dataset_id: int, **kwargs: Any) -> Any:
            if need in SIGNED_IN_NEEDS:
                # Changes (and spending a privacy budget) always need an account: sign in
                # first, whichever the dataset (so the answer says nothing about whether it
                # exists).
                require(_signed_in(current_user))
            dataset = db.session.get(Dataset, dataset_id)
            if dataset is None:
                abort(404)
            require(can_see_dataset(current_user, dataset), exists_for_user=False)
            require(ALLOWED[need](current_user, dataset))
            return view(*args, dataset=dataset, **kwargs)

        wrapped.access = f"dataset: {need.value}"  # type: ignore[attr-defined]
        wrapped.need = need  # type: ignore[attr-defined]
        return cast(View, wrapped)

    return decorate


def sample_route(need: Need) -> Callable[[View], View]:
    """A route about one sample by id (the API's /samples/<sample_id>): loads the sample and
    its dataset and decides as `dataset_route` does, with the sample's own tighter privacy
    counted too; calls the view with `sample=` and `dataset=`."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(*args: Any, sample_id: int, **kwargs: Any) -> Any:
            if need in SIGNED_IN_NEEDS:
                require(_signed_in(current_user))
            sample = db.session.get(Sample, sample_id)
            dataset = db.session.get(Dataset, sample.dataset_id) if sample is not None else None
            if sample is None or dataset is None:
                abort(404)
            require(can_see_dataset(current_user, dataset), exists_for_user=False)
            require(ALLOWED[need](current_user, dataset))
            require(can_see_sample(current_user, dataset, sample), exists_for_user=False)
            return view(*args, sample=sample, dataset=dataset, **kwargs)

        wrapped.access = f"sample: {need.value}"  # type: ignore[attr-defined]
        wrapped.need = need  # type: ignore[attr-defined]
        return cast(View, wrapped)

    return decorate


def attempt_route(view: View) -> View:
    """An upload attempt's report (by id) or progress (by token): only whoever made it, and
    admins. A token not recorded yet (the page polls from the first byte) gives None."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        require(_signed_in(current_user))
        if "token" in kwargs:
            token = kwargs.pop("token")
            attempt = db.session.scalar(select(UploadAttempt).where(UploadAttempt.token == token))
            if attempt is None:
                return view(*args, attempt=None, **kwargs)
        else:
            attempt = db.session.get(UploadAttempt, kwargs.pop("attempt_id"))
        if attempt is None or not (current_user.is_admin or attempt.user_id == current_user.id):
            abort(404)
        return view(*args, attempt=attempt, **kwargs)

    wrapped.access = "own upload attempt"  # type: ignore[attr-defined]
    return cast(View, wrapped)
