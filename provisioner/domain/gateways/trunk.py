"""A gateway's carrier account, for a carrier that wants its terminal to authenticate.

A carrier SIP service or an NTT Hikari Denwa home gateway expects the gateway to REGISTER with
a user and password and to answer digest challenges on its INVITEs (docs/gateway32.md,
'Trunk registration'). The account is stored with the gateway profile, the password encrypted
like every other secret, and delivered in config.json as ``trunk.registration``. The gateway
reports how its registration fares on each config fetch; a change lands on its timeline, and
losing the registration is an alert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from provisioner.db.gateways import GatewayProfile
from provisioner.db.models import Device, DeviceEvent, utcnow
from provisioner.domain.errors import Invalid
from provisioner.domain.gateways.devices import address
from provisioner.domain.timeline import EventKind
from provisioner.secretbox import SecretBox

# What the gateway's engine takes (gateway32.config refuses the same): the user names and the
# password travel in SIP headers and Kamailio RPC strings, so printable ASCII without space,
# quote or backslash.
USER = re.compile(r"[A-Za-z0-9+._@-]{1,64}")
PASSWORD = re.compile(r"[!#-\[\]-~]{1,128}")
MIN_EXPIRES, MAX_EXPIRES = 60, 86_400
STATE_HEADER = "X-Gateway32-Trunk"  # how the gateway reports its registration on a fetch
REGISTERED = "registered"
WATCHER = "trunk registration"


@dataclass(frozen=True)
class TrunkAccount:
    """A change to the account: None leaves a field as it is; "" removes an optional one."""

    register: bool | None = None
    user: str | None = None
    auth_user: str | None = None
    password: str | None = None
    registrar: str | None = None  # host[:port]; empty: the trunk itself
    outbound_proxy: str | None = None  # host[:port]; empty: none
    expires: int | None = None


def apply_account(profile: GatewayProfile, box: SecretBox, change: TrunkAccount) -> None:
    """Change what is given; registration on needs a user and a password, or is refused."""
    if change.user is not None:
        profile.trunk_user = _user(change.user, "trunk user") if change.user else None
    if change.auth_user is not None:
        profile.trunk_auth_user = (
            _user(change.auth_user, "trunk auth user") if change.auth_user else None
        )
    if change.password is not None:
        if change.password and not PASSWORD.fullmatch(change.password):
            # the value is a secret: never echoed
            raise Invalid(
                "trunk password must be 1-128 printable ASCII characters without space, "
                "quote or backslash"
            )
        profile.trunk_password_encrypted = box.encrypt(change.password) if change.password else None
    if change.registrar is not None:
        profile.trunk_registrar = (
            address(change.registrar, "trunk registrar") if change.registrar else None
        )
    if change.outbound_proxy is not None:
        proxy = change.outbound_proxy
        profile.trunk_outbound_proxy = address(proxy, "trunk outbound proxy") if proxy else None
    if change.expires is not None:
        if not MIN_EXPIRES <= change.expires <= MAX_EXPIRES:
            raise Invalid(f"trunk expires must be {MIN_EXPIRES} to {MAX_EXPIRES} seconds")
        profile.trunk_expires = change.expires
    if change.register is not None:
        profile.trunk_register = change.register
    if profile.trunk_register and not (profile.trunk_user and profile.trunk_password_encrypted):
        raise Invalid(
            "trunk registration needs the carrier account: give --trunk-user and "
            "--trunk-password (or PROVISIONER_TRUNK_PASSWORD)"
        )


def _user(text: str, label: str) -> str:
    if not USER.fullmatch(text):
        raise Invalid(f"{label} {text!r} must be 1-64 letters, digits or + . _ @ -")
    return text


def registration_document(profile: GatewayProfile, box: SecretBox) -> dict[str, object] | None:
    """config.json's ``trunk.registration`` (docs/gateway32.md), or None: trusted by address."""
    if not profile.trunk_register or not profile.trunk_user or not profile.trunk_password_encrypted:
        return None
    document: dict[str, object] = {
        "registrar": profile.trunk_registrar
        or {"host": profile.trunk_host, "port": profile.trunk_port},
        "user": profile.trunk_user,
        "auth_user": profile.trunk_auth_user or profile.trunk_user,
        "password": box.decrypt(profile.trunk_password_encrypted),
        "expires": profile.trunk_expires,
        "outbound_proxy": profile.trunk_outbound_proxy,
    }
    return document


def account_summary(profile: GatewayProfile) -> dict[str, object]:
    """The account as the API shows it: everything but the password, and the reported state."""
    return {
        "register": profile.trunk_register,
        "user": profile.trunk_user,
        "auth_user": profile.trunk_auth_user or profile.trunk_user,
        "password_set": profile.trunk_password_encrypted is not None,
        "registrar": profile.trunk_registrar,
        "outbound_proxy": profile.trunk_outbound_proxy,
        "expires": profile.trunk_expires,
        "state": profile.trunk_state,
        "state_at": profile.trunk_state_at,
    }


_PRINTABLE = re.compile(r"[^ -~]")


def note_state(session: Session, device: Device, profile: GatewayProfile, reported: str) -> bool:
    """What the gateway says about its registration; True when it changed.

    A change is a ``registration`` event on the gateway's timeline; a registered trunk that
    is no longer (or one that never registered) is an ``alert``: calls from and to the
    carrier fail until it is fixed.
    """
    state = _PRINTABLE.sub("", reported)[:200].strip()
    if not state or state == profile.trunk_state:
        return False
    profile.trunk_state, profile.trunk_state_at = state, utcnow()
    kind = EventKind.REGISTRATION if state == REGISTERED else EventKind.ALERT
    detail = f"trunk {state}"
    session.add(DeviceEvent(device=device, kind=kind, actor=WATCHER, protocol="sip", detail=detail))
    return True
