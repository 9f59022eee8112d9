"""PoE switches in the inventory: add, list, find, and their SNMP access (decrypted on use).

Communities and v3 keys are encrypted at rest with the service key and leave this module only
inside :class:`SnmpAccess`, whose ``repr`` hides them, for the SNMP front door to use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.db.poe import PoeSwitch
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.inventory.patterns import NAME_PATTERN
from provisioner.domain.inventory.tenants import tenant_id_named
from provisioner.secretbox import SecretBox

VERSIONS = ("2c", "3")
MIN_INTERVAL, MAX_INTERVAL = 10, 86400
HOST_PATTERN = r"[A-Za-z0-9][A-Za-z0-9.\-]{0,252}|\[?[0-9A-Fa-f:.]+\]?"
NAME_LENGTH = 100
# RFC 3414: an auth or priv password shorter than 8 characters is refused by agents.
MIN_V3_KEY = 8


@dataclass(frozen=True)
class SnmpAccess:
    """How to reach a switch's agent; secrets inside, never shown."""

    host: str
    port: int
    version: str
    community: str = field(default="", repr=False)
    user: str = ""
    auth_key: str = field(default="", repr=False)
    priv_key: str = field(default="", repr=False)
    context: str = ""


@dataclass(frozen=True)
class NewSwitch:
    name: str
    host: str
    vendor: str
    version: str = "2c"
    port: int = 161
    community: str = ""
    user: str = ""
    auth_key: str = ""
    priv_key: str = ""
    context: str = ""
    tenant: str | None = None  # None: the warehouse bench
    poll_interval: int = 60
    port_map: dict[str, int] = field(default_factory=dict)
    uplinks: tuple[str, ...] = ()


def _check(new: NewSwitch, vendors: tuple[str, ...]) -> None:
    if not re.fullmatch(NAME_PATTERN, new.name) or len(new.name) > NAME_LENGTH:
        raise Invalid(f"switch name {new.name!r}: 1-{NAME_LENGTH} printable characters")
    if not re.fullmatch(HOST_PATTERN, new.host):
        raise Invalid(f"host {new.host!r} is not a host name or an IP address")
    if not 0 < new.port < 65536:
        raise Invalid(f"SNMP port {new.port} out of range 1-65535")
    if new.vendor not in vendors:
        raise Invalid(f"vendor profile {new.vendor!r}: use one of {', '.join(vendors)}")
    if new.version not in VERSIONS:
        raise Invalid(f"SNMP version {new.version!r}: use 2c or 3")
    if new.version == "2c" and not new.community:
        raise Invalid("SNMP v2c needs a community (one with write access to power-cycle)")
    if new.version == "3":
        if not new.user:
            raise Invalid("SNMP v3 needs a user (authPriv: SHA and AES keys)")
        if len(new.auth_key) < MIN_V3_KEY or len(new.priv_key) < MIN_V3_KEY:
            raise Invalid(f"SNMP v3 auth and priv keys need at least {MIN_V3_KEY} characters")
    if not MIN_INTERVAL <= new.poll_interval <= MAX_INTERVAL:
        raise Invalid(f"poll interval must be {MIN_INTERVAL}-{MAX_INTERVAL} seconds")
    for key, ifindex in new.port_map.items():
        if not re.fullmatch(r"\d{1,5}\.\d{1,5}", key) or not 0 < ifindex < 2**31:
            raise Invalid(f"port map entry {key!r}: {ifindex!r}: use GROUP.PORT=IFINDEX")


def add_switch(
    session: Session, box: SecretBox, new: NewSwitch, vendors: tuple[str, ...]
) -> PoeSwitch:
    _check(new, vendors)
    if session.scalar(select(PoeSwitch.id).where(PoeSwitch.name == new.name)) is not None:
        raise Conflict(f"a switch named {new.name!r} exists already")
    tenant_id = None
    if new.tenant is not None:
        tenant_id = tenant_id_named(session, new.tenant, " (leave it out for the warehouse bench)")
    v3 = new.version == "3"
    switch = PoeSwitch(
        name=new.name,
        host=new.host.strip("[]"),
        port=new.port,
        snmp_version=new.version,
        community_encrypted=None if v3 else box.encrypt(new.community),
        v3_user=new.user if v3 else None,
        v3_auth_key_encrypted=box.encrypt(new.auth_key) if v3 else None,
        v3_priv_key_encrypted=box.encrypt(new.priv_key) if v3 else None,
        context=new.context,
        vendor=new.vendor,
        tenant_id=tenant_id,
        poll_interval=new.poll_interval,
        port_map=dict(new.port_map),
        uplinks=list(new.uplinks),
        pse=[],
    )
    session.add(switch)
    session.flush()
    return switch


def list_switches(session: Session) -> list[PoeSwitch]:
    return list(session.scalars(select(PoeSwitch).order_by(PoeSwitch.name)))


def get_switch(session: Session, name: str) -> PoeSwitch:
    switch = session.scalar(select(PoeSwitch).where(PoeSwitch.name == name))
    if switch is None:
        raise NotFound(f"no PoE switch named {name!r} (see: provisioner poe list)")
    return switch


def access(box: SecretBox, switch: PoeSwitch) -> SnmpAccess:
    if switch.snmp_version == "3":
        return SnmpAccess(
            switch.host,
            switch.port,
            "3",
            user=switch.v3_user or "",
            auth_key=box.decrypt(switch.v3_auth_key_encrypted or ""),
            priv_key=box.decrypt(switch.v3_priv_key_encrypted or ""),
            context=switch.context,
        )
    return SnmpAccess(
        switch.host,
        switch.port,
        "2c",
        community=box.decrypt(switch.community_encrypted or ""),
        context=switch.context,
    )


def poll_soon(switch: PoeSwitch) -> None:
    """Make the switch due: the service's poller takes it within a second."""
    switch.last_poll_at = None


def site(switch: PoeSwitch) -> str:
    return switch.tenant.name if switch.tenant else "warehouse bench"
