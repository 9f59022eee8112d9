"""Device files over HTTP: any path prefix, the file named by the last path segment."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.datastructures import Authorization

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

from provisioner.domain.delivery.digest import DigestResponse
from provisioner.domain.delivery.networks import client_address
from provisioner.domain.delivery.pipeline import Delivery, Fetch, Outcome, Provisioner

device_files = Blueprint("device_files", __name__)

# A request header's value by name (several of one name joined with ","), or None.
HeaderLookup = Callable[[str], str | None]

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


def request_fetch(provisioner: Provisioner, name: str) -> Fetch:
    """This Flask request as the delivery pipeline sees it: who asks for ``name`` (what the
    route names: the catch-all's path, a phonebook's file name), with which proof."""
    environ = request.environ
    return build_fetch(
        provisioner,
        method=environ["REQUEST_METHOD"],
        path=_routed_path(environ),
        query=environ.get("QUERY_STRING", ""),
        header=request.headers.get,
        remote=environ.get("REMOTE_ADDR") or "",
        scheme=environ["wsgi.url_scheme"],
        name=name,
    )


def delivery_response(delivery: Delivery) -> Response:
    """The pipeline's verdict as HTTP: the file, or a status with a body that names no MAC."""
    status, headers, body = _answer(delivery)
    return Response(body, status, headers=headers)


class DeviceFiles:
    """Device-file requests answered from the request's parts, without WSGI or Flask.

    A boot storm is thousands of device-file fetches a second; Flask's request context,
    routing, hooks and response objects, and even a PEP 3333 environment and start_response,
    cost more than the delivery pipeline does. A request is answered here when only the
    catch-all route could match it (``matches``); the pipeline decides what it gets exactly as
    behind Flask, only the request and response plumbing is skipped.
    """

    def __init__(self, app: Flask) -> None:
        self.provisioner: Provisioner = app.extensions["provisioner"]
        self.matches = device_file_request(app)

    def answer(
        self, method: str, path: str, query: str, header: HeaderLookup, remote: str, scheme: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Status, headers (with Content-Length) and body of the answer to a request that
        ``matches``; ``path`` as routed (percent-decoded). HEAD: the same without the body."""
        fetch = build_fetch(self.provisioner, method, path, query, header, remote, scheme)
        status, headers, body = _answer(self.provisioner.deliver(fetch))
        headers.append(("Content-Length", str(len(body))))
        return status, headers, b"" if method == "HEAD" else body


def device_file_request(app: Flask) -> Callable[[str, str], bool]:
    """Whether a request (method, path) is one only the device-file catch-all can match: a
    GET or HEAD whose path starts with no fixed part of another rule (so a route added before
    the catch-all keeps its paths, and Flask routes what it gets as before)."""
    endpoint = f"{device_files.name}.{device_file.__name__}"
    others = tuple(
        rule.rule.split("<", 1)[0] for rule in app.url_map.iter_rules() if rule.endpoint != endpoint
    )

    def is_device_file(method: str, path: str) -> bool:
        return method in ("GET", "HEAD") and len(path) >= 2 and not path.startswith(others)

    return is_device_file


def build_fetch(
    provisioner: Provisioner,
    method: str,
    path: str,
    query: str,
    header: HeaderLookup,
    remote: str,
    scheme: str,
    name: str | None = None,
) -> Fetch:
    """A request as the delivery pipeline sees it, whichever server interface carried it.

    ``path``: as routed, percent-decoded, with its leading "/"; with the query it is the
    target a Digest answer must name. ``header(name)``: a header's value, several of one
    name joined with ","; ``remote``: the peer's address (a trusted proxy's X-Forwarded-For
    names the device). ``name``: what is asked for, when a route names it (else the path).
    """
    digest, basic = _credentials(_authorization(header("authorization")))
    return Fetch(
        path=path[1:] if name is None else name,
        protocol=scheme,
        source=client_address(remote, header("x-forwarded-for"), provisioner.proxies),
        user_agent=header("user-agent"),
        method=method,
        digest=digest,
        basic=basic,
        target=f"{path}?{query}" if query else path,
    )


def _routed_path(environ: WSGIEnvironment) -> str:
    """The request's path as routed: percent-decoded, its bytes read as UTF-8 (a WSGI string
    holds them as latin-1 characters; an invalid sequence reads as U+FFFD, as Werkzeug and
    granian read it)."""
    raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    return raw.encode("latin-1").decode("utf-8", "replace")


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


def _authorization(header: str | None) -> Authorization | None:
    """The Authorization header as Werkzeug parses it; a Digest header (every authenticated
    fetch of a boot storm) parsed here, several times faster. A quoted value with a backslash
    escape is left to Werkzeug: no phone sends one."""
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
