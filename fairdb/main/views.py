"""Routes of the main blueprint: home page and /healthz."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from fairdb.extensions import db, limiter
from fairdb.services import access

bp = Blueprint("main", __name__)
logger = logging.getLogger(__name__)


@bp.route("/")
@access.open_route
def index() -> ResponseReturnValue:
    return render_template("main/index.html")


@bp.route("/healthz")
@access.open_route
@limiter.exempt
def healthz() -> ResponseReturnValue:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        logger.warning("health check failed: database unreachable", extra={"error": str(error)})
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
