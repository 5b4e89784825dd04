"""The API blueprint's plumbing: Bearer tokens, the write scope, rate limits, JSON bodies,
problem answers, cursor links, Idempotency-Key replays and the description each route gives
of itself for the OpenAPI document."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, jsonify, request
from marshmallow import Schema, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from fairdb.errors import PROBLEM_JSON, problem
from fairdb.extensions import csrf, db, limiter, login_manager
from fairdb.models import IdempotentAnswer
from fairdb.services import tokens

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no cookies are read here: a token in a header cannot be forged cross-site

View = TypeVar("View", bound=Callable[..., Any])
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class ApiError(HTTPException):
    """An answer other than success, as problem+json: status, title, detail, extra members."""

    def __init__(self, status: int, title: str, detail: str = "", **extra: Any) -> None:
        super().__init__(detail)
        self.code = status
        self.title = title
        self.detail = detail
        self.extra = extra

    def get_response(self, environ: Any = None, scope: Any = None) -> Response:
        return problem(self.code or 400, self.title, self.detail or None, **self.extra)


def _rate_key() -> str:
    """Limits count per token (hashed), or per address for anonymous calls."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return "token:" + hashlib.sha256(header.encode()).hexdigest()[:32]
    return "address:" + (request.remote_addr or "")


limiter.limit(lambda: str(current_app.config["API_RATE_LIMIT"]), key_func=_rate_key)(bp)


@bp.before_request
def authenticate() -> None:
    """The caller is the token's owner, or anonymous; the browser's sign-in cookie is never
    used here (so a page cannot be made to call the API on a user's behalf)."""
    g.api_token = None
    g._login_user = login_manager.anonymous_user()
    header = request.headers.get("Authorization")
    if header is None:
        return
    scheme, _, credentials = header.partition(" ")
    token = tokens.authenticate(credentials.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        raise ApiError(
            401,
            "Unauthorized",
            "The Authorization header does not hold a valid token: send 'Bearer <token>' with "
            "a token from your account page that has not been revoked.",
        )
    if db.session.dirty:
        db.session.commit()  # its last use (written at most once a minute by tokens)
    g.api_token = token
    g._login_user = token.user
    if request.method not in SAFE_METHODS and not token.can_write:
        raise ApiError(
            403,
            "Forbidden",
            f"The token '{token.name}' may only read; create one that allows changes.",
        )


@bp.after_request
def no_store(response: Response) -> Response:
    """Answers depend on the caller's token: shared caches must not keep them."""
    response.headers.setdefault("Cache-Control", "private, no-store")
    response.vary.add("Authorization")
    return response


@bp.errorhandler(ApiError)
def answer_problem(error: ApiError) -> Response:
    return error.get_response()


def json_payload() -> Any:
    """The request's JSON document, or 400 (not JSON) / 422 (text holding U+0000)."""
    payload = request.get_json(silent=True)
    if payload is None:
        raise ApiError(
            400,
            "Bad Request",
            "Send a JSON body (valid JSON in UTF-8) with Content-Type: application/json.",
        )
    # In JSON text a NUL can only be written as the escape \u0000: without one anywhere in the
    # body, no string holds it, and the walk through every value is skipped.
    nul = _nul_path(payload) if b"\\u0000" in request.get_data() else None
    if nul is not None:
        raise ApiError(
            422,
            "Unprocessable Content",
            "Text may not contain the NUL character (U+0000).",
            errors=[{"column": nul or None, "message": "Remove the NUL character (U+0000)."}],
        )
    return payload


def json_body(schema: Schema, *, many: bool = False) -> Any:
    """The request's JSON loaded by a marshmallow schema, or 400 (not JSON) / 422 (invalid)
    naming every field at fault."""
    payload = json_payload()
    try:
        return schema.load(payload, many=many)
    except ValidationError as error:
        raise ApiError(
            422,
            "Unprocessable Content",
            "The JSON body does not fit the schema; each entry of 'errors' names a field.",
            errors=field_errors(error.messages),
        ) from None


def _nul_path(value: Any, path: str = "") -> str | None:
    """Where in a JSON document a string (or key) holds U+0000, which PostgreSQL refuses."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items: Any = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, inner in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and "\x00" in key:
            return where
        found = _nul_path(inner, where)
        if found is not None:
            return found
    return None


def field_errors(messages: Any, prefix: str = "") -> list[dict[str, Any]]:
    """marshmallow's nested messages as a flat list of {column, message} entries."""
    found: list[dict[str, Any]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            found += field_errors(value, f"{prefix}{key}" if not prefix else f"{prefix}.{key}")
    elif isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict | list):
                found += field_errors(message, prefix)
            else:
                found.append({"column": prefix or None, "message": str(message)})
    else:
        found.append({"column": prefix or None, "message": str(messages)})
    return found


def created(body: Any, location: str | None = None) -> Response:
    response = jsonify(body)
    response.status_code = 201
    if location:
        response.headers["Location"] = location
    return response


def this_url_with(**changes: str) -> str:
    """This request's full URL with some query parameters replaced (the next page's link)."""
    args = request.args.to_dict(flat=False)
    args.update({name: [value] for name, value in changes.items()})
    return request.base_url + "?" + urlencode(args, doseq=True)


def with_next_link(body: dict[str, Any], next_url: str | None) -> Response:
    """A page of results: `next` in the body and an RFC 8288 Link header."""
    body["next"] = next_url
    response = jsonify(body)
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


# -- Idempotency-Key ------------------------------------------------------------------------


def idempotent(view: View) -> View:
    """POST with an `Idempotency-Key` header: the first answer is stored with the change (one
    transaction), and the same key from the same user gets that answer again instead of a
    second change. The same key on another request is refused (422)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        user = g.get("api_token")
        if key is None or user is None:
            return view(*args, **kwargs)
        if not 1 <= len(key) <= 255:
            raise ApiError(422, "Unprocessable Content", "Idempotency-Key: 1-255 characters.")
        signature = _signature()
        earlier = _stored_answer(user.user_id, key)
        if earlier is not None:
            return _replay(earlier, signature)
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code >= 500 or response.is_streamed:
            return response
        db.session.add(
            IdempotentAnswer(
                user_id=user.user_id,
                key=key,
                request=signature,
                status=response.status_code,
                body=response.get_json(silent=True),
                headers={k: v for k, v in response.headers.items() if k in _KEPT_HEADERS},
            )
        )
        try:
            db.session.commit()
        except IntegrityError:
            # The same key raced us and won: our change is rolled back, theirs is the answer.
            db.session.rollback()
            winner = _stored_answer(user.user_id, key)
            if winner is None:
                raise
            return _replay(winner, signature)
        return response

    return cast(View, wrapped)


_KEPT_HEADERS = {"Location", "Content-Type"}


def _signature() -> str:
    body = hashlib.sha256(request.get_data(cache=True)).hexdigest()
    return f"{request.method} {request.path} {body}"[:600]


def _stored_answer(user_id: int, key: str) -> IdempotentAnswer | None:
    found = select(IdempotentAnswer).where(
        IdempotentAnswer.user_id == user_id, IdempotentAnswer.key == key
    )
    return db.session.scalar(found)


def _replay(answer: IdempotentAnswer, signature: str) -> Response:
    if answer.request != signature:
        raise ApiError(
            422,
            "Unprocessable Content",
            "This Idempotency-Key was used for a different request; use a new key.",
        )
    response = jsonify(answer.body)
    response.status_code = answer.status
    for name, value in answer.headers.items():
        response.headers[name] = value
    if answer.status >= 400:
        response.mimetype = PROBLEM_JSON
    response.headers["Idempotent-Replayed"] = "true"
    return response


# -- self-description for the OpenAPI document ----------------------------------------------


@dataclass
class Doc:
    """What a route says about itself: read by api/openapi.py to write the document."""

    summary: str
    tag: str
    query: type[Schema] | None = None
    body: type[Schema] | None = None
    body_many: bool = False
    upload: bool = False  # multipart/form-data with a `file` field
    form: type[Schema] | None = None  # the upload's other (text) form fields
    responses: dict[int, Any] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    media: dict[int, str] = field(default_factory=dict)  # non-JSON successes (downloads)


def documented(**spec: Any) -> Callable[[View], View]:
    def attach(view: View) -> View:
        view.api_doc = Doc(**spec)  # type: ignore[attr-defined]
        return view

    return attach
