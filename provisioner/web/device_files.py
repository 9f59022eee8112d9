"""Device files over HTTP: any path prefix, the file named by the last path segment."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from provisioner.domain.delivery import Fetch, Outcome, Provisioner

device_files = Blueprint("device_files", __name__)

_STATUS_TEXT = {
    Outcome.FORBIDDEN: "forbidden\n",
    Outcome.NOT_FOUND: "not found\n",
    Outcome.FAILED: "internal error\n",
}


@device_files.route("/healthz", methods=["GET"])
def healthz() -> Response:
    """For load balancers and start-up checks; says nothing about the inventory."""
    return Response("ok\n", 200, mimetype="text/plain")


@device_files.route("/<path:path>", methods=["GET", "HEAD"])
def device_file(path: str) -> Response:
    provisioner: Provisioner = current_app.extensions["provisioner"]
    delivery = provisioner.deliver(
        Fetch(
            path=path,
            protocol=request.scheme,
            source=request.remote_addr or "",
            user_agent=request.headers.get("User-Agent"),
        )
    )
    if delivery.outcome is not Outcome.SERVED:
        # The same body for every refusal: no hint of whether the MAC exists.
        return Response(
            _STATUS_TEXT[delivery.outcome], delivery.outcome.value, mimetype="text/plain"
        )
    response = Response(delivery.body, 200, content_type=delivery.content_type)
    response.headers["Cache-Control"] = "no-store"
    return response
