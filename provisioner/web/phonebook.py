"""``GET /phonebook/<mac>/phonebook.xml``: the phonebook of the device's tenant, in its vendor's
format, only to that device (Digest with its own credentials, like its file; an unknown MAC is
challenged like a known one). A model without a phonebook format gets 404.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, current_app

from provisioner.domain.delivery.pipeline import Provisioner
from provisioner.domain.inventory.devices import get_device
from provisioner.domain.inventory.macs import BadMac, normalize_mac
from provisioner.domain.phonebook.book import entries_for
from provisioner.rendering import render_plan
from provisioner.vendors import find_model, grandstream
from provisioner.web.device_files import delivery_response, request_fetch

phonebook = Blueprint("phonebook_file", __name__)
FILENAME = "phonebook.xml"


@phonebook.route(f"/phonebook/<mac_text>/{FILENAME}", methods=["GET"])
def phonebook_file(mac_text: str) -> Response:
    provisioner: Provisioner = current_app.extensions["provisioner"]
    try:
        mac = normalize_mac(mac_text)
    except BadMac:
        mac = "000000000000"  # challenged like any unknown device
    fetch = request_fetch(provisioner, FILENAME)
    refusal = provisioner.authenticate_device(fetch, mac, grandstream.VENDOR.name)
    if refusal is not None:
        return delivery_response(refusal)
    with provisioner.db.session() as session:
        device = get_device(session, mac)
        model = find_model(device.model)
        entries = entries_for(session, device.tenant_id) if device.tenant_id else []
    plan = grandstream.VENDOR.phonebook(model, entries) if model and device.tenant_id else None
    if plan is None:
        return Response("no phonebook for this device\n", 404, content_type="text/plain")
    body = render_plan(plan)
    provisioner.record_fetch(fetch, mac, hashlib.sha256(body).hexdigest())
    response = Response(body, 200, content_type=plan.content_type)
    response.headers["Cache-Control"] = "no-store"
    return response
