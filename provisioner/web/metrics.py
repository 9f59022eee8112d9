"""``GET /metrics`` for Prometheus: counts by protocol, outcome and reason, never by device.

A fixed route, so Flask matches it before the device files' ``/<path:path>`` catch-all.
Served to the staging networks (where monitoring lives) only; elsewhere it does not exist.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from provisioner.domain.delivery.pipeline import Provisioner, client_address, in_networks
from provisioner.domain.staging import order_flow
from provisioner.metrics import CONTENT_TYPE, exposition, set_orders

metrics = Blueprint("metrics", __name__)


@metrics.route("/metrics", methods=["GET"])
def scrape() -> Response:
    provisioner: Provisioner = current_app.extensions["provisioner"]
    source = client_address(
        request.remote_addr or "", request.headers.get("X-Forwarded-For"), provisioner.proxies
    )
    if not in_networks(source, provisioner.staging):
        return Response("not found\n", 404, mimetype="text/plain")
    with provisioner.db.session() as session:
        order_flow.sweep(session)  # a late order's alert is raised even when nobody looks
        set_orders(*order_flow.status_counts(session))
    response = Response(exposition(), 200, content_type=CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response
