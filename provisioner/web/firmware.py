"""Firmware images over HTTP: ``/firmware/<name>`` (a catalog file name) or
``/firmware/<name without .bin>/<any name>`` (for devices that append their own), no auth.

Phones resume interrupted downloads and re-check images they already hold, so Range,
If-Range and ETag (the sha256) matter; ``send_file`` streams the blob from disk. A whole
download (the whole image in one answer) is put on the device's timeline for loop detection,
when it comes from where that device proved itself (the bench, or the address of its last
authenticated fetch): the User-Agent that names the device is only a claim.

Images carry no secrets and their names are public, so the per-source limiter (which guards
secrets against guessing) neither charges nor refuses them: an office of phones fetching
the same image after a release must not lock itself out. Bandwidth belongs to the load
balancer in front.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, send_file

from firmware.catalog import Catalog
from firmware.watch import whole_download
from provisioner.domain.delivery.pipeline import Provisioner, client_address

firmware = Blueprint("firmware", __name__)

# A name is content-addressed (sha256 in it), so its bytes never change; a day bounds how long
# a removed image stays in a cache.
MAX_AGE = 86_400


def _provisioner() -> Provisioner:
    return current_app.extensions["provisioner"]


def _catalog() -> Catalog:
    return current_app.extensions["firmware"]  # the service's, set by ``create_app``


@firmware.route("/firmware/<path:name>", methods=["GET", "HEAD"])
def firmware_image(name: str) -> Response:
    found = _catalog().by_path(name)
    if found is None:
        return Response("not found\n", 404, mimetype="text/plain")
    image, path = found
    response = send_file(
        path,
        mimetype="application/octet-stream",
        conditional=True,
        etag=image.sha256,
        max_age=MAX_AGE,
    )
    # A 304 (the device re-checked an image it holds), a resume or a probe is not an attempt.
    if whole_download(
        request.method, response.status_code, response.headers.get("Content-Range"), image.size
    ):
        provisioner = _provisioner()
        source = client_address(
            request.remote_addr or "", request.headers.get("X-Forwarded-For"), provisioner.proxies
        )
        provisioner.firmware_downloaded(
            image.filename, request.scheme, source, request.headers.get("User-Agent")
        )
    return response
