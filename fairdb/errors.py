"""One error handler: HTML pages for browsers, RFC 9457 problem+json under /api/."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def wants_json() -> bool:
    """API clients get problem+json; everyone else gets a page."""
    return request.path.startswith("/api/") or request.path == "/healthz"


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> Response:
    """An RFC 9457 problem document."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def handle_http_error(error: HTTPException) -> Response | tuple[str, int]:
    """Render a 4xx/5xx raised by a view or by Flask itself."""
    status = error.code or 500
    title = error.name
    detail = error.description if status < 500 else None
    if wants_json():
        response = problem(status, title, detail)
    else:
        html = render_template("errors/error.html", status=status, title=title, detail=detail)
        response = Response(html, status=status, mimetype="text/html")
    # The exception's own headers: Retry-After (429), WWW-Authenticate (401), Allow (405).
    for name, value in error.get_headers():
        if name.lower() in ("retry-after", "www-authenticate", "allow"):
            response.headers[name] = value
    return response


def handle_unexpected(error: Exception) -> Response | tuple[str, int]:
    """Log the traceback for the operator; show the user a generic page without it."""
    logger.exception("unhandled error", extra={"path": request.path})
    return handle_http_error(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
