"""Every API error is ``{"error": "..."}`` with a 4xx status and says what to do.

Domain refusals map to 404 (not there), 409 (the inventory's state refuses) and 422 (a bad
value); schema validation is 422 too. Under the API prefix only the API's own routes answer:
a path they do not know is a JSON 404 (not a device file), a method they do not take a 405
whose Allow header lists theirs alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apiflask import APIFlask, HTTPError
from flask import Flask, Response, current_app, jsonify, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.routing import Map, Rule

from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.web.api.context import API_PREFIX

_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (Invalid, 422),
)
_ADVICE = {
    400: "the body is not valid JSON; send a JSON object with Content-Type: application/json",
    404: "no such API path; the operations are listed in " + API_PREFIX + "/openapi.json",
    405: "this path does not take that method; the Allow header lists the ones it takes",
    413: "the request body is too large; split the sheet",
    500: "internal error; the server log has the details",
}


def error_response(
    message: str, status: int, headers: Mapping[str, str] | None = None, **extra: Any
) -> Response:
    response = jsonify(error=message, **extra)
    response.status_code = status
    response.headers.update(dict(headers or {}))
    return response


def register(app: APIFlask) -> None:
    for exception, status in _STATUS:
        app.register_error_handler(exception, _domain_handler(status))
    app.register_error_handler(IntegrityError, _concurrent_change)
    app.register_error_handler(RecursionError, _nested_too_deeply)
    app.error_processor(_http_error)
    # After error_processor, which also claims Werkzeug's errors for every path.
    app.register_error_handler(HTTPException, _http_exception)
    app.before_request(_only_api_routes)


def _domain_handler(status: int) -> Any:
    def handle(exc: Exception) -> Response:
        return error_response(str(exc), status)

    return handle


def _concurrent_change(_exc: IntegrityError) -> Response:
    """A unique name or number taken between the domain's check and the commit."""
    return error_response(
        "another change took the same name or number at the same moment; read again and retry",
        409,
    )


def _nested_too_deeply(exc: RecursionError) -> Response:
    """The JSON parser recurses per nesting level and gives up with RecursionError, which the
    request parser does not turn into a 400 as it does other malformed JSON."""
    if not request.is_json:
        raise exc
    current_app.logger.warning("refused a JSON body nested too deeply: %s", exc)
    return error_response("the body is JSON nested too deeply; " + _ADVICE[400], 400)


def _http_error(error: HTTPError) -> Response:
    """abort() in a view and schema validation; validation details become one sentence."""
    message = _sentence(error.detail) if error.detail else (error.message or "bad request")
    return error_response(message, error.status_code, error.headers, **error.extra_data)


def _http_exception(exc: HTTPException) -> HTTPException | Response:
    """Werkzeug's own errors: JSON under the API prefix, unchanged elsewhere (device files)."""
    if not request.path.startswith(API_PREFIX + "/"):
        return exc
    status = exc.code or 500
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return error_response(_ADVICE.get(status, exc.description or "bad request"), status, headers)


def _sentence(detail: Any, path: str = "") -> str:
    """{"json": {"extension": ["must be 4 digits"]}} -> "json.extension: must be 4 digits"."""
    if isinstance(detail, Mapping):
        return "; ".join(
            _sentence(value, f"{path}.{key}" if path else str(key)) for key, value in detail.items()
        )
    if isinstance(detail, list) and all(isinstance(item, str) for item in detail):
        return f"{path}: {' '.join(detail)}" if path else " ".join(detail)
    if isinstance(detail, list):
        return "; ".join(_sentence(item, path) for item in detail)
    return f"{path}: {detail}" if path else str(detail)


def _only_api_routes() -> Response | None:
    """Keep the device-file catch-all and Flask's automatic OPTIONS off the API's paths."""
    if not request.path.startswith(API_PREFIX + "/"):
        return None
    rule = request.url_rule
    if rule is not None and rule.rule.startswith(API_PREFIX + "/") and request.method != "OPTIONS":
        return None
    allowed = sorted(_api_routes(current_app).bind("localhost").allowed_methods(request.path))
    if not allowed:
        raise RouteNotFound()
    if request.method == "OPTIONS":
        return Response(status=200, headers={"Allow": ", ".join(allowed)})
    raise MethodNotAllowed(valid_methods=allowed)


def _api_routes(app: Flask) -> Map:
    """The API's own rules: what a path under the prefix takes, without the device files."""
    routes = app.extensions.get("api_routes")
    if routes is None:
        routes = Map(
            [
                Rule(rule.rule, endpoint=rule.endpoint, methods=rule.methods)
                for rule in app.url_map.iter_rules()
                if rule.rule.startswith(API_PREFIX + "/")
            ]
        )
        app.extensions["api_routes"] = routes
    return routes
