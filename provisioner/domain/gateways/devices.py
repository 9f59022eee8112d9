"""Gateway devices: finding one, its tenant, and its trunk settings (the gateway profile).

A gateway is an inventory device of kind ``gateway``; the lifecycle (bind, ship, ...) and its
provisioning credentials are the phones' (:mod:`provisioner.domain.inventory.lifecycle`).
"""

from __future__ import annotations

import ipaddress
import re

from sqlalchemy.orm import Session

from provisioner.db.gateways import GatewayProfile
from provisioner.db.models import Device, DeviceState, Tenant
from provisioner.domain.errors import Conflict, Invalid
from provisioner.domain.inventory import lifecycle
from provisioner.domain.inventory.devices import get_device
from provisioner.domain.inventory.patterns import phone_number
from provisioner.secretbox import SecretBox
from provisioner.vendors.base import DeviceKind

REFUSALS = ("busy", "unavailable")  # 486 + Q.850 17, or a bare 503
# The trunk is UDP: the only transport the gateway's engine takes (gateway32.config).
MAX_CORES = 8
MAX_CALL_SECONDS = 86_400
_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")  # fmt: skip


def get_gateway(session: Session, mac_text: str) -> Device:
    """A device of kind gateway by its MAC in any accepted form."""
    device = get_device(session, mac_text)
    if device.kind != DeviceKind.GATEWAY:
        raise Conflict(f"device {device.mac} is a {device.model} ({device.kind}), not a gateway")
    return device


def note_config_fetch(session: Session, box: SecretBox, device: Device, source: str) -> bool:
    """A shipped gateway that fetched its configuration with its own credentials is installed;
    True when this fetch moved it."""
    if device.state is not DeviceState.SHIPPED:
        return False
    lifecycle.apply(
        session, box, device, lifecycle.Action.INSTALL, actor=f"first config fetch from {source}"
    )
    return True


def bound_tenant(device: Device) -> Tenant:
    """The tenant a gateway serves; licences and numbers need one."""
    if device.state is DeviceState.RETIRED:
        raise Conflict(f"gateway {device.mac} is retired: restock and bind it first")
    if device.tenant is None:
        raise Conflict(
            f"gateway {device.mac} is {device.state}: bind it to a tenant first "
            "(it carries that tenant's ported numbers)"
        )
    return device.tenant


def address(text: str, label: str, default_port: int = 5060) -> dict[str, object]:
    """``host[:port]`` (IPv6 in brackets) as {"host", "port"}; names the setting when bad."""
    text = text.strip()
    host, port = text, default_port
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = _port(rest.removeprefix(":"), label, text)
    elif text.count(":") == 1:
        host, raw = text.split(":")
        port = _port(raw, label, text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOSTNAME.fullmatch(host):
            raise Invalid(f"{label} {text!r} is not host[:port]") from None
    return {"host": host, "port": port}


def _port(raw: str, label: str, text: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise Invalid(f"{label} {text!r} has no valid port (1-65535)")
    return int(raw)


def set_profile(
    session: Session,
    device: Device,
    *,
    trunk: str | None = None,
    cores: list[str] | None = None,
    refusal: str | None = None,
    default_caller_id: str | None = None,
    max_call_seconds: int | None = None,
) -> GatewayProfile:
    """Change what is given; a new profile needs its trunk. An empty caller ID removes it."""
    bound_tenant(device)
    profile = session.get(GatewayProfile, device.id)
    if profile is None:
        if trunk is None:
            raise Invalid(f"gateway {device.mac} has no trunk yet: give it one (host[:port])")
        profile = GatewayProfile(
            device_id=device.id,
            trunk_transport="udp",
            cores=[],
            refusal="busy",
            max_call_seconds=7200,
            trunk_register=False,
            trunk_expires=3600,
        )
        session.add(profile)
    if trunk is not None:
        where = address(trunk, "trunk")
        profile.trunk_host, profile.trunk_port = str(where["host"]), int(str(where["port"]))
    if cores is not None:
        if not 1 <= len(cores) <= MAX_CORES:
            raise Invalid(f"give 1 to {MAX_CORES} PBX cores, primary first")
        profile.cores = [address(core, "core") for core in cores]
    if refusal is not None:
        if refusal not in REFUSALS:
            raise Invalid(f"refusal {refusal!r} must be one of {', '.join(REFUSALS)}")
        profile.refusal = refusal
    if default_caller_id is not None:
        profile.default_caller_id = phone_number(default_caller_id, "default_caller_id")
    if max_call_seconds is not None:
        if not 60 <= max_call_seconds <= MAX_CALL_SECONDS:
            raise Invalid(f"max_call_seconds must be 60 to {MAX_CALL_SECONDS}")
        profile.max_call_seconds = max_call_seconds
    session.flush()
    return profile


def get_profile(session: Session, device: Device) -> GatewayProfile | None:
    return session.get(GatewayProfile, device.id)
