"""What a gateway fetches and posts, with its device credentials (Digest, or Basic over HTTPS).

``GET /gateway/<mac>/config.json``: its licence, number map and trunk (``gateway_config``).
``POST /gateway/<mac>/cdrs``: a batch of its call records (``cdrs``). Authentication is the
device files' own (:meth:`Provisioner.authenticate_device`): an unknown or malformed MAC is
challenged exactly like a known one with wrong credentials.
"""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, current_app, jsonify, request

from provisioner.domain import cdrs
from provisioner.domain.delivery import Provisioner
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.gateway_config import config_document
from provisioner.domain.gateway_devices import get_gateway
from provisioner.domain.macs import BadMac, normalize_mac
from provisioner.vendors import gateway32
from provisioner.web.device_files import delivery_response, request_fetch

gateway = Blueprint("gateway", __name__)


def _authenticated(mac_text: str, path: str) -> tuple[Provisioner, str] | Response:
    """The service and the canonical MAC when the caller is that gateway, else the refusal."""
    provisioner: Provisioner = current_app.extensions["provisioner"]
    fetch = request_fetch(provisioner, path)
    try:
        mac = normalize_mac(mac_text)
    except BadMac:
        mac = "000000000000"  # challenged like any unknown device
    refusal = provisioner.authenticate_device(fetch, mac, gateway32.NAME)
    if refusal is not None:
        return delivery_response(refusal)
    return provisioner, mac


def _error(exc: Exception, status: int) -> Response:
    response = jsonify(error=str(exc))
    response.status_code = status
    return response


@gateway.route("/gateway/<mac_text>/config.json", methods=["GET"])
def config(mac_text: str) -> Response:
    checked = _authenticated(mac_text, "config.json")
    if isinstance(checked, Response):
        return checked
    provisioner, mac = checked
    try:
        with provisioner.db.session() as session:
            document = config_document(
                session, get_gateway(session, mac), provisioner.settings.pbx_core
            )
    except (Conflict, NotFound) as exc:
        return _error(exc, 409)
    body = json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    provisioner.record_fetch(
        request_fetch(provisioner, "config.json"), mac, hashlib.sha256(body).hexdigest()
    )
    response = Response(body, 200, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@gateway.route("/gateway/<mac_text>/cdrs", methods=["POST"])
def post_cdrs(mac_text: str) -> Response:
    checked = _authenticated(mac_text, "cdrs")
    if isinstance(checked, Response):
        return checked
    provisioner, mac = checked
    body = request.get_json(silent=True)
    if body is None:
        return _error(Invalid("the body must be a JSON list of CDR objects"), 400)
    try:
        with provisioner.db.session() as session:
            report = cdrs.ingest(session, get_gateway(session, mac), body)
    except cdrs.BadRecord as exc:
        response = jsonify(error=str(exc), record=exc.index)
        response.status_code = 422
        return response
    except Invalid as exc:
        return _error(exc, 422)
    except (Conflict, NotFound) as exc:
        return _error(exc, 409)
    return jsonify(accepted=report.accepted, duplicates=report.duplicates)
