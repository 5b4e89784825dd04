"""The OpenAPI 3 document, written from the routes' own descriptions (core.documented) and
their marshmallow schemas by apispec, and the interactive documentation page."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app, jsonify, render_template
from flask.typing import ResponseReturnValue
from werkzeug.routing import Rule

from fairdb.api.core import Doc, bp
from fairdb.errors import PROBLEM_JSON
from fairdb.schemas.api import Problem
from fairdb.services import access

# Every API answer may be one of these, whatever the route.
ALWAYS = {
    401: "The token is unknown or revoked, or the action needs one.",
    429: "Too many requests for this token; the Retry-After header says when to try again.",
}
MEANING = {
    400: "A parameter or the body cannot be read; the problem says which.",
    403: "You may see this but not do that (or the token may only read).",
    404: "Not found, or not visible to you.",
    409: "The same file was stored before, or a concurrent change conflicts.",
    413: "The upload is too large.",
    422: "The content breaks a rule; each entry of 'errors' names the row, column and fix.",
}
DOWNLOAD_MEDIA = {
    "text/csv": {"type": "string"},
    "text/tab-separated-values": {"type": "string"},
    "application/json": {"type": "array", "items": {"type": "object"}},
}
_ARGUMENT = re.compile(r"<(?:(?P<converter>[a-z]+):)?(?P<name>\w+)>")


def _path(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    parameters = []
    for match in _ARGUMENT.finditer(rule.rule):
        name = match["name"]
        schema: dict[str, Any] = {"type": "integer" if match["converter"] == "int" else "string"}
        if name == "fmt":
            schema["enum"] = ["csv", "tsv", "json"]
        parameters.append({"in": "path", "name": name, "required": True, "schema": schema})
    path = _ARGUMENT.sub(lambda m: "{" + m["name"] + "}", rule.rule).removeprefix(
        bp.url_prefix or ""
    )
    return path, parameters


def _problem(meaning: str) -> dict[str, Any]:
    return {"description": meaning, "content": {PROBLEM_JSON: {"schema": "Problem"}}}


def _operation(doc: Doc, parameters: list[dict[str, Any]], name: str) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": doc.summary,
        "operationId": name,
        "tags": [doc.tag],
        "parameters": list(parameters),
        "responses": {},
    }
    if doc.query is not None:
        operation["parameters"].append({"in": "query", "schema": doc.query})
    content: dict[str, Any] = {}
    if doc.body is not None:
        schema: Any = doc.body
        if doc.body_many:
            schema = {"type": "array", "items": doc.body, "minItems": 1}
        content["application/json"] = {"schema": schema}
    if doc.upload:
        form: dict[str, Any] = {"type": "object", "properties": {}, "required": ["file"]}
        if doc.form is not None:
            form = _PLUGIN.converter.schema2jsonschema(doc.form)  # type: ignore[union-attr]
            form["required"] = [*form.get("required", []), "file"]
        form["properties"]["file"] = {"type": "string", "format": "binary"}
        content["multipart/form-data"] = {"schema": form}
    if content:
        operation["requestBody"] = {"required": True, "content": content}
    for status, answer in doc.responses.items():
        if answer is None:
            operation["responses"][str(status)] = {"description": "Done; no content."}
        else:
            operation["responses"][str(status)] = {
                "description": "Success.",
                "content": {"application/json": {"schema": answer}},
            }
    for status in doc.media:
        operation["responses"][str(status)] = {
            "description": "The file, streamed.",
            "content": {media: {"schema": schema} for media, schema in DOWNLOAD_MEDIA.items()},
        }
    for status in sorted({*doc.errors, *ALWAYS}):
        operation["responses"][str(status)] = _problem(
            ALWAYS.get(status) or MEANING.get(status, "")
        )
    return operation


_PLUGIN = MarshmallowPlugin()


@cache
def _document(server: str) -> dict[str, Any]:
    spec = APISpec(
        title="fairdb API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[_PLUGIN],
        info={
            "description": (
                "Sample metadata and abundance tables of microbiome studies. Send "
                "`Authorization: Bearer <token>` (tokens are made on your account page); "
                "without one you read what anonymous visitors may. Errors are RFC 9457 "
                "problem details."
            )
        },
        servers=[{"url": server}],
    )
    spec.components.schema("Problem", schema=Problem)
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    rules = sorted(current_app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
    for rule in rules:
        view = current_app.view_functions[rule.endpoint]
        doc: Doc | None = getattr(view, "api_doc", None)
        if not rule.endpoint.startswith("api.") or doc is None:
            continue
        path, parameters = _path(rule)
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        operations = {
            method.lower(): _operation(doc, parameters, rule.endpoint.removeprefix("api."))
            for method in methods
        }
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    # Anonymous calls read public data; a token opens more.
    document["security"] = [{}, {"bearerAuth": []}]
    return document


@bp.get("/openapi.json")
@access.open_route
def openapi_document() -> ResponseReturnValue:
    """The API's OpenAPI 3 description."""
    prefix = current_app.config.get("APPLICATION_ROOT", "/").rstrip("/")
    return jsonify(_document(prefix + (bp.url_prefix or "")))


@bp.get("/docs")
@access.open_route
def documentation() -> ResponseReturnValue:
    """Interactive documentation (Swagger UI, vendored) of the OpenAPI document."""
    return render_template("api/docs.html")
