"""Firmware images over HTTP: ``/firmware/<name>``, exactly a catalog file name, no auth.

Phones resume interrupted downloads and re-check images they already hold, so Range,
If-Range and ETag (the sha256) matter; ``send_file`` streams the blob from disk.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, send_file

from firmware.catalog import Catalog
from provisioner.domain.delivery import Provisioner

firmware = Blueprint("firmware", __name__)

# A name is content-addressed (sha256 in it), so its bytes never change; a day bounds how long
# a removed image stays in a cache.
MAX_AGE = 86_400


def _catalog() -> Catalog:
    catalog = current_app.extensions.get("firmware")
    if catalog is None:
        provisioner: Provisioner = current_app.extensions["provisioner"]
        catalog = current_app.extensions["firmware"] = Catalog(provisioner.settings.firmware_dir)
    return catalog


@firmware.route("/firmware/<name>", methods=["GET", "HEAD"])
def firmware_image(name: str) -> Response:
    found = _catalog().by_filename(name)
    if found is None:
        return Response("not found\n", 404, mimetype="text/plain")
    image, path = found
    return send_file(
        path,
        mimetype="application/octet-stream",
        conditional=True,
        etag=image.sha256,
        max_age=MAX_AGE,
    )
