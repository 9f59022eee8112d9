"""What a gateway fetches and posts, with its device credentials (Digest, or Basic over HTTPS).

``GET /gateway/<mac>/config.json``: its licence, number map and trunk (``gateway_config``).
``POST /gateway/<mac>/cdrs``: a batch of its call records (``cdrs``). Authentication is the
device files' own (:meth:`Provisioner.authenticate_device`): an unknown or malformed MAC is
challenged exactly like a known one with wrong credentials.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable

from flask import Blueprint, Response, current_app, jsonify, request

from provisioner.domain.delivery.pipeline import Provisioner
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.gateways import cdrs, trunk
from provisioner.domain.gateways.config import config_document
from provisioner.domain.gateways.devices import get_gateway, get_profile, note_config_fetch
from provisioner.domain.inventory.macs import BadMac, normalize_mac
from provisioner.vendors import gateway32
from provisioner.web.device_files import delivery_response, request_fetch

gateway = Blueprint("gateway", __name__)


GatewayView = Callable[[Provisioner, str], Response]


def as_the_gateway(filename: str) -> Callable[[GatewayView], Callable[[str], Response]]:
    """Run the view only for a request that proves it is the gateway of ``<mac_text>``; the
    view gets the service and the canonical MAC. Anything else gets the device challenge."""

    def decorate(view: GatewayView) -> Callable[[str], Response]:
        @functools.wraps(view)
        def checked(mac_text: str) -> Response:
            provisioner: Provisioner = current_app.extensions["provisioner"]
            try:
                mac = normalize_mac(mac_text)
            except BadMac:
                mac = "000000000000"  # challenged like any unknown device
            fetch = request_fetch(provisioner, filename)
            refusal = provisioner.authenticate_device(fetch, mac, gateway32.NAME)
            if refusal is not None:
                return delivery_response(refusal)
            return view(provisioner, mac)

        return checked

    return decorate


def _error(message: str, status: int, **extra: object) -> Response:
    response = jsonify(error=message, **extra)
    response.status_code = status
    return response


@gateway.route("/gateway/<mac_text>/config.json", methods=["GET"])
@as_the_gateway("config.json")
def config(provisioner: Provisioner, mac: str) -> Response:
    fetch = request_fetch(provisioner, "config.json")
    try:
        with provisioner.db.session() as session:
            device = get_gateway(session, mac)
            document = config_document(
                session, device, provisioner.settings.pbx_addresses, provisioner.box
            )
            note_config_fetch(session, provisioner.box, device, fetch.source)
            reported = request.headers.get(trunk.STATE_HEADER)
            profile = get_profile(session, device)
            if reported is not None and profile is not None:
                trunk.note_state(session, device, profile, reported)
    except (Conflict, NotFound) as exc:
        return _error(str(exc), 409)
    body = json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    provisioner.record_fetch(fetch, mac, hashlib.sha256(body).hexdigest())
    response = Response(body, 200, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@gateway.route("/gateway/<mac_text>/cdrs", methods=["POST"])
@as_the_gateway("cdrs")
def post_cdrs(provisioner: Provisioner, mac: str) -> Response:
    try:
        body = json.loads(request.get_data())
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        body = None
    if body is None:
        return _error("the body must be a JSON list of CDR objects", 400)
    try:
        with provisioner.db.session() as session:
            report = cdrs.ingest(session, get_gateway(session, mac), body)
    except cdrs.BadRecord as exc:
        return _error(str(exc), 422, record=exc.index)
    except Invalid as exc:
        return _error(str(exc), 422)
    except (Conflict, NotFound) as exc:
        return _error(str(exc), 409)
    return jsonify(accepted=report.accepted, duplicates=report.duplicates)
