"""Lease events of the bench DHCP server (``dhcp-opt66 bench``'s dnsmasq hook).

404 for a MAC the inventory does not know (the hook logs it and dnsmasq goes on), 422 for a
malformed event. Warehouse and admin tokens only: the bench runs in the warehouse.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import String
from apiflask.validators import Length, OneOf, Regexp

from provisioner.domain.inventory.devices import MAC_PATTERN
from provisioner.domain.inventory.patterns import NAME_PATTERN, anchored
from provisioner.domain.staging.leases import (
    ACTIONS,
    HOSTNAME_LENGTH,
    IPV4_PATTERN,
    VENDOR_CLASS_LENGTH,
    Lease,
    record_lease,
)
from provisioner.web.api import present
from provisioner.web.api.auth import WAREHOUSE, auth, caller
from provisioner.web.api.context import API_PREFIX, unit_of_work
from provisioner.web.api.present import Data
from provisioner.web.api.schemas import EventOut

bp = APIBlueprint("leases", __name__, url_prefix=API_PREFIX)


def _text(length: int, description: str) -> String:
    return String(
        load_default=None,
        allow_none=True,
        validate=[
            Length(1, length),
            Regexp(anchored(NAME_PATTERN), error="no control characters, no spaces at either end"),
        ],
        metadata={"description": description},
    )


class LeaseIn(Schema):
    action = String(required=True, validate=OneOf(ACTIONS))
    mac = String(
        required=True,
        validate=Regexp(anchored(MAC_PATTERN), error="12 hex digits, optionally in pairs"),
    )
    ip = String(
        required=True,
        validate=Regexp(anchored(IPV4_PATTERN), error="an IPv4 address"),
        metadata={"description": "The leased address."},
    )
    hostname = _text(HOSTNAME_LENGTH, "The name the client sent (option 12).")
    vendor_class = _text(VENDOR_CLASS_LENGTH, "The client's option 60.")


@bp.post("/dhcp/leases")
@bp.auth_required(auth, roles=WAREHOUSE)
@bp.input(LeaseIn)
@bp.output(EventOut, status_code=201)
@bp.doc(summary="Record a bench DHCP lease event on the device's timeline", responses=[403, 404])
def record(json_data: dict[str, Any]) -> Data:
    """dnsmasq's add, old (renewed or seen at start) and del (released or expired)."""
    with unit_of_work() as session:
        event = record_lease(session, Lease(**json_data), caller().actor)
        return present.event(event)
