"""``GET /phonebook/<mac>/<file>``: the phonebook of the device's tenant, in its vendor's format,
only to that device (Digest with its own credentials, like its file; an unknown MAC is
challenged like a known one). A model without a phonebook format gets 404.

The file name says the vendor: ``phonebook.xml`` is Grandstream's whole book, which the phone
downloads; ``panasonic.xml`` is Panasonic's network phonebook, which the phone searches with
``?name=`` and which answers the first matches only (``vendors/panasonic/phonebook.py``).
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, abort, current_app, request

from provisioner.domain.delivery.pipeline import Provisioner
from provisioner.domain.inventory.devices import get_device
from provisioner.domain.inventory.macs import BadMac, normalize_mac
from provisioner.domain.phonebook.book import entries_for, search
from provisioner.rendering import render_plan
from provisioner.vendors import find_model, grandstream, panasonic
from provisioner.vendors.base import VendorModule
from provisioner.vendors.panasonic.phonebook import FILENAME as PANASONIC_FILENAME
from provisioner.web.device_files import delivery_response, request_fetch

phonebook = Blueprint("phonebook_file", __name__)
FILENAME = "phonebook.xml"
_VENDORS: dict[str, VendorModule] = {
    FILENAME: grandstream.VENDOR,
    PANASONIC_FILENAME: panasonic.VENDOR,
}


@phonebook.route("/phonebook/<mac_text>/<filename>", methods=["GET"])
def phonebook_file(mac_text: str, filename: str) -> Response:
    module = _VENDORS.get(filename)
    if module is None:
        abort(404)
    provisioner: Provisioner = current_app.extensions["provisioner"]
    try:
        mac = normalize_mac(mac_text)
    except BadMac:
        mac = "000000000000"  # challenged like any unknown device
    fetch = request_fetch(provisioner, filename)
    refusal = provisioner.authenticate_device(fetch, mac, module.name)
    if refusal is not None:
        return delivery_response(refusal)
    with provisioner.db.session() as session:
        device = get_device(session, mac)
        model = find_model(device.model)
        entries = entries_for(session, device.tenant_id) if device.tenant_id else []
    if module is panasonic.VENDOR:
        entries = search(entries, request.args.get("name", ""))
    plan = module.phonebook(model, entries) if model and device.tenant_id else None
    if plan is None:
        return Response("no phonebook for this device\n", 404, content_type="text/plain")
    body = render_plan(plan)
    provisioner.record_fetch(fetch, mac, hashlib.sha256(body).hexdigest())
    response = Response(body, 200, content_type=plan.content_type)
    response.headers["Cache-Control"] = "no-store"
    return response
