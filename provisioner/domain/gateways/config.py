"""The configuration a gateway fetches: its licence, number map and trunk, as one JSON object.

The shape is the contract with the gateway (``docs/gateway32.md``, 'config.json');
the gateway checks it again before it uses it, and verifies the licence with its own copy of
the issuer's public key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from provisioner.db.models import Device
from provisioner.domain.errors import Conflict
from provisioner.domain.gateways.devices import address, bound_tenant, get_profile
from provisioner.domain.gateways.licences import current_licence
from provisioner.domain.gateways.numbers import list_numbers
from provisioner.domain.gateways.trunk import registration_document
from provisioner.secretbox import SecretBox


def config_document(
    session: Session, device: Device, default_cores: Sequence[str], box: SecretBox
) -> dict[str, Any]:
    """Everything the gateway needs, or :class:`Conflict` naming what is still missing."""
    tenant = bound_tenant(device)
    profile = get_profile(session, device)
    if profile is None:
        raise Conflict(
            f"gateway {device.mac} has no trunk settings: "
            f"'provisioner gateway set {device.mac} --trunk HOST:PORT'"
        )
    numbers = list_numbers(session, device)
    default_caller_id = profile.default_caller_id or (numbers[0].did if numbers else None)
    if default_caller_id is None:
        raise Conflict(
            f"gateway {device.mac} has no ported number and no default caller ID: "
            f"'provisioner gateway number add {device.mac} DID DESTINATION'"
        )
    return {
        "gateway": device.mac,
        "tenant": tenant.name,
        "licence": json.loads(current_licence(session, device)),
        "numbers": [{"did": n.did, "destination": n.destination} for n in numbers],
        "default_caller_id": default_caller_id,
        "trunk": {
            "host": profile.trunk_host,
            "port": profile.trunk_port,
            "transport": profile.trunk_transport,
            "registration": registration_document(profile, box),
        },
        "cores": list(profile.cores)
        or [address(core, "PROVISIONER_PBX_CORE") for core in default_cores],
        "refusal": profile.refusal,
        "max_call_seconds": profile.max_call_seconds,
    }
