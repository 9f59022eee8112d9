"""Device files over HTTP: any path prefix, the file named by the last path segment."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from werkzeug.datastructures import Authorization

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
    digest, basic = _credentials(request.authorization)
    return Fetch(
        path=path,
        protocol=request.scheme,
        source=client_address(
            request.remote_addr or "",
            request.headers.get("X-Forwarded-For"),
            provisioner.proxies,
        ),
        user_agent=request.headers.get("User-Agent"),
        method=request.method,
        digest=digest,
        basic=basic,
    )


def delivery_response(delivery: Delivery) -> Response:
    """The pipeline's verdict as HTTP: the file, or a status with a body that names no MAC."""
    if delivery.outcome is Outcome.SERVED:
        response = Response(delivery.body, 200, content_type=delivery.content_type)
        response.headers["Cache-Control"] = "no-store"
        return response
    response = Response(
        _STATUS_TEXT[delivery.outcome], delivery.outcome.value, mimetype="text/plain"
    )
    if delivery.challenge:
        response.headers["WWW-Authenticate"] = delivery.challenge
    return response


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
