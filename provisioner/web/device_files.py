"""Device files over HTTP: any path prefix, the file named by the last path segment."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.datastructures import Authorization

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

from provisioner.domain.delivery.digest import DigestResponse
from provisioner.domain.delivery.networks import client_address
from provisioner.domain.delivery.pipeline import Delivery, Fetch, Outcome, Provisioner

device_files = Blueprint("device_files", __name__)

# The same short body for every refusal: no hint of whether a MAC exists.
_STATUS_TEXT = {
    Outcome.UNAUTHORIZED: "authentication required\n",
    Outcome.FORBIDDEN: "forbidden\n",
    Outcome.NOT_FOUND: "not found\n",
    Outcome.LOCKED: "",
    Outcome.FAILED: "internal error\n",
}


@device_files.route("/healthz", methods=["GET"])
def healthz() -> Response:
    """For load balancers and start-up checks; says nothing about the inventory."""
    return Response("ok\n", 200, mimetype="text/plain")


@device_files.route("/<path:path>", methods=["GET", "HEAD"])
def device_file(path: str) -> Response:
    provisioner: Provisioner = current_app.extensions["provisioner"]
    return delivery_response(provisioner.deliver(request_fetch(provisioner, path)))


def request_fetch(provisioner: Provisioner, path: str) -> Fetch:
    """This request as the delivery pipeline sees it: who asks, for what, with which proof."""
    return _fetch(provisioner, path, request.environ, request.authorization)


def delivery_response(delivery: Delivery) -> Response:
    """The pipeline's verdict as HTTP: the file, or a status with a body that names no MAC."""
    status, headers, body = _answer(delivery)
    return Response(body, status, headers=headers)


def lean_front(app: Flask) -> WSGIApplication:
    """The application's WSGI callable with device files answered before Flask.

    A boot storm is thousands of device-file fetches a second; Flask's request context,
    routing, hooks and response objects cost several times what the delivery pipeline does.
    A request goes to Flask when any other route could match it: its path starts with the
    fixed part of another rule (so a route added before the catch-all keeps its paths, and
    Flask routes what it gets as before), or its method is not GET or HEAD. Everything else
    only the catch-all matches, and the pipeline decides what it gets, as behind Flask; only
    the request and response plumbing is skipped.
    """
    provisioner: Provisioner = app.extensions["provisioner"]
    is_device_file = device_file_request(app)
    flask_app = app.wsgi_app

    def front(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if not is_device_file(method, path):
            return flask_app(environ, start_response)
        fetch = _fetch(provisioner, path[1:], environ, _authorization(environ))
        status, headers, body = _answer(provisioner.deliver(fetch))
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [] if method == "HEAD" else [body]

    return front


def device_file_request(app: Flask) -> Callable[[str, str], bool]:
    """Whether a request (method, path) is one only the device-file catch-all can match: a
    GET or HEAD whose path starts with no fixed part of another rule."""
    endpoint = f"{device_files.name}.{device_file.__name__}"
    others = tuple(
        rule.rule.split("<", 1)[0] for rule in app.url_map.iter_rules() if rule.endpoint != endpoint
    )

    def is_device_file(method: str, path: str) -> bool:
        return method in ("GET", "HEAD") and len(path) >= 2 and not path.startswith(others)

    return is_device_file


def _fetch(
    provisioner: Provisioner,
    path: str,
    environ: WSGIEnvironment,
    authorization: Authorization | None,
) -> Fetch:
    digest, basic = _credentials(authorization)
    return Fetch(
        path=path,
        protocol=environ["wsgi.url_scheme"],
        source=client_address(
            environ.get("REMOTE_ADDR") or "",
            environ.get("HTTP_X_FORWARDED_FOR"),
            provisioner.proxies,
        ),
        user_agent=environ.get("HTTP_USER_AGENT"),
        method=environ["REQUEST_METHOD"],
        digest=digest,
        basic=basic,
        target=_target(environ),
    )


def _target(environ: WSGIEnvironment) -> str:
    """The request's path (as routed: percent-decoded) and query, for the Digest URI check."""
    raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    path = raw.encode("latin-1").decode("utf-8", "replace")  # a WSGI string holds bytes
    query = environ.get("QUERY_STRING", "")
    return f"{path}?{query}" if query else path


def _answer(delivery: Delivery) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of the HTTP answer to a delivery."""
    if delivery.outcome is Outcome.SERVED:
        headers = [("Content-Type", delivery.content_type), ("Cache-Control", "no-store")]
        return 200, headers, delivery.body
    headers = [("Content-Type", "text/plain; charset=utf-8")]
    if delivery.challenge:
        headers.append(("WWW-Authenticate", delivery.challenge))
    return delivery.outcome.value, headers, _STATUS_TEXT[delivery.outcome].encode()


_DIGEST_FIELD = re.compile(r'([A-Za-z]+)\s*=\s*(?:"([^"\\]*)"|([^\s,"]*))\s*(?:,|$)')


def _authorization(environ: WSGIEnvironment) -> Authorization | None:
    """The Authorization header as Werkzeug parses it; a Digest header (every authenticated
    fetch of a boot storm) parsed here, several times faster. A quoted value with a backslash
    escape is left to Werkzeug: no phone sends one."""
    header = environ.get("HTTP_AUTHORIZATION")
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    if scheme.lower() == "digest" and "\\" not in rest:
        fields = {
            name.lower(): quoted if unquoted == "" else unquoted
            for name, quoted, unquoted in _DIGEST_FIELD.findall(rest)
        }
        return Authorization("digest", fields)
    return Authorization.from_header(header)


def _credentials(
    auth: Authorization | None,
) -> tuple[DigestResponse | None, tuple[str, str] | None]:
    """Digest fields or a Basic pair from the Authorization header; anything else is none."""
    if auth is None:
        return None, None
    if auth.type == "basic" and auth.username is not None and auth.password is not None:
        return None, (auth.username, auth.password)
    fields = auth.parameters
    required = ("username", "realm", "nonce", "uri", "response")
    if auth.type != "digest" or not all(fields.get(name) for name in required):
        return None, None
    return (
        DigestResponse(
            username=fields["username"],
            realm=fields["realm"],
            nonce=fields["nonce"],
            uri=fields["uri"],
            response=fields["response"],
            qop=fields.get("qop"),
            nc=fields.get("nc"),
            cnonce=fields.get("cnonce"),
            algorithm=fields.get("algorithm"),
        ),
        None,
    )
