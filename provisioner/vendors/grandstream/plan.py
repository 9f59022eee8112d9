"""A Grandstream device's file: which value each setting of :mod:`.parameters` gets.

Everything vendor-specific is decided in this package; the templates only place the pairs.
Sources as in :mod:`.parameters` (section numbers and source tags below refer to
``docs/vendors.md``).

Decisions taken where the sources disagree or say nothing:

* Unregister on reboot (P81 and its per-account twins) is always 0: several endpoints may
  share an account, and one rebooting must not unregister the others.
* SIP NOTIFY is authenticated: P4428 ("Disable SIP NOTIFY Authentication") is 0 on GXP16xx,
  GXP21xx and HT; the GRP26xx alias ``sip.notify.challenge`` (the opposite wording) is
  ``Yes``. Whoever sends the resync NOTIFY answers the 401 with the line's SIP credentials.
  "Allow SIP Reset" (P26015) is left at its factory default, off: it lets a NOTIFY
  factory-reset the device, which nobody outside the warehouse should be able to do.
  (The GRP alias polarity rests on its name and one template comment: unverified.)
* Periodic check: P194 means "2 = daily at hour P285" on phones but "1 = daily" on HT
  firmware (0 No, 1 daily, 2 weekly, 3 every P193 minutes); newer HT firmware reads the
  mode from P22296 (0 No, 1 every P193 minutes, 2 daily; [ATA-PHP], secondary), so ATAs
  get both. P193 is 1440 so that a firmware reading "every P193 minutes" still checks daily.
* P212 is "config upgrade via" on phones, with firmware in P6767; on HT it is "firmware
  upgrade and provisioning" and there is no P6767 in the HT templates.
* Behind NAT and across cores (docs/vendors.md §7): every account, FXS port or profile
  sends NAT keep-alives (NAT traversal "keep alive", P52 and its twins, every P84 seconds)
  so an office router keeps its UDP mapping open between registrations; names the failover
  core (phones: "secondary SIP server" P2312...; HT: "failover SIP server" P967/P987 with
  "prefer primary" so it comes back); looks the core up by A record, or by DNS SRV when
  PROVISIONER_PBX_CORE is ``srv:DOMAIN`` (P103 and twins). Local SIP ports are fixed at
  Grandstream's template defaults (random ports off), so a contact stays predictable.
  Rport: only GRP26xx has a setting for it (``supportRport``); the other families' templates
  have none, and the core answers to the source address and port whatever the device asks.
* TR-069: written only where the family's own template has the switch: P1409 on HT80x/HT81x,
  ``tr069.enable`` on GXP21xx/GRP26xx. The GXP16xx template (1.0.4.33) has none: P1409 was
  written there before and is no longer; its ACS URL (P4503) is left at the device's value.
* Caller ID: no family has a per-account "caller ID number"; the From user part is the SIP
  username and the PBX core rewrites the presented number from its own table. The file
  carries the device's caller ID only in the account name (line key label) on phones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from provisioner.vendors.base import (
    DeviceKind,
    DeviceView,
    FaxMode,
    FileKind,
    FileRequest,
    FirmwareOffer,
    LineView,
    ProvisioningContext,
    TemplatePlan,
    unique_params,
)
from provisioner.vendors.common import (
    Params,
    backup_server,
    line_label,
    lines_by_port,
    provisioning_paths,
    refuse_unwritable_characters,
    registration_expiry,
    require_requested_device,
    resync_time,
    sip_server,
    with_raw,
)
from provisioner.vendors.grandstream.keys import key_params
from provisioner.vendors.grandstream.models import ALIAS_FORMAT, NAME, P_FORMAT
from provisioner.vendors.grandstream.parameters import (
    ALIAS_CREDENTIALS,
    ALIAS_KEEPALIVE_INTERVAL,
    ALIAS_SPELLING,
    CALLER_ID_NTT_JAPAN,
    CHECK_INTERVAL_MINUTES,
    HT80X_PORTS,
    HT81X_PROFILES,
    HT_LOCAL_SIP_PORTS,
    HT_REACH,
    KEEPALIVE_INTERVAL,
    P_CREDENTIALS,
    P_SPELLING,
    PHONE_ACCOUNTS,
    PHONE_REACH,
    PROFILE_PASSTHROUGH,
    PROFILE_T38,
    SLIC_JAPAN_CO,
    AccountKeys,
    AnalogKeys,
    CredentialKeys,
    ReachKeys,
    Spelling,
    alias_account,
    alias_reach,
    ht81x_port,
    phone_local_port,
)
from provisioner.vendors.grandstream.phonebook import phonebook_params
from provisioner.vendors.grandstream.settings import setting_params

_TEMPLATES = {
    P_FORMAT: "grandstream/config-p.xml.j2",
    ALIAS_FORMAT: "grandstream/config-alias.xml.j2",
}
CONTENT_TYPE = "application/xml; charset=utf-8"


def _expiry_minutes(device: DeviceView, ctx: ProvisioningContext) -> str:
    return str(max(1, registration_expiry(device, ctx) // 60))


def _account(
    keys: AccountKeys,
    line: LineView | None,
    ctx: ProvisioningContext,
    spell: Spelling,
    expiry: str,
    caller_id: str | None = None,
) -> Params:
    """One account; an account with no line is switched off and its credentials cleared.
    ``expiry``: the registration expiry in minutes."""
    if line is None:
        cleared = [key for key in (keys.label, keys.user, keys.auth, keys.password, keys.name)
                   if key]  # fmt: skip
        return [(keys.active, spell.no), *((key, "") for key in cleared)]
    server = sip_server(ctx)
    params: Params = [(keys.active, spell.yes)]
    if keys.label:
        params.append((keys.label, line_label(line, caller_id)))
    params += [
        (keys.server, server),
        (keys.proxy, server),
        (keys.user, line.sip_username),
        (keys.auth, line.sip_username),
        (keys.password, line.sip_password),
        (keys.name, line.display_name),
        (keys.registration, spell.yes),
        (keys.unregister, spell.no),
        (keys.expiry, expiry),
    ]
    return params


def _reach(
    keys: ReachKeys, ctx: ProvisioningContext, spell: Spelling, local_port: str | None = None
) -> Params:
    """Failover core, DNS mode and NAT keep-alive of one account, port or profile."""
    params: Params = [
        (keys.backup, backup_server(ctx)),
        (keys.dns_mode, spell.srv if ctx.pbx_srv else spell.a_record),
        (keys.nat, spell.keep_alive),
    ]
    if keys.prefer_primary:
        params.append((keys.prefer_primary, spell.yes))
    if keys.random_port:
        params.append((keys.random_port, spell.no))
    if keys.rport:
        params.append((keys.rport, spell.yes))
    if keys.local_port and local_port:
        params.append((keys.local_port, local_port))
    return params


def _analog(keys: AnalogKeys, fax_mode: FaxMode | None) -> Params:
    passthrough = fax_mode is FaxMode.PASSTHROUGH
    return [
        (keys.fax_mode, "1" if passthrough else "0"),
        (keys.reinvite_on_fax, "1"),
        (keys.slic, SLIC_JAPAN_CO),
        (keys.caller_id_scheme, CALLER_ID_NTT_JAPAN),
    ]


@dataclass(frozen=True)
class Provisioning:
    """Where and when a device comes back to us, computed once per file."""

    protocol: str  # "http" or "https"
    config_path: str
    firmware_path: str
    hour: int
    end_hour: int

    @classmethod
    def of(cls, device: DeviceView, ctx: ProvisioningContext) -> Provisioning:
        scheme, config_path, firmware_path = provisioning_paths(ctx)
        hour, _ = resync_time(device.mac, ctx.resync_window)
        # P8458 lets the device pick a random minute between P285 and P8459.
        return cls(scheme, config_path, firmware_path, hour, (hour + 1) % 24)

    @property
    def protocol_number(self) -> str:
        return "2" if self.protocol == "https" else "1"


def _firmware_path(prov: Provisioning, offer: FirmwareOffer | None) -> str:
    """The device appends its own image name (e.g. gxp2170fw.bin) to this path, so each
    step gets a directory of its own that serves exactly that image."""
    return f"{prov.firmware_path}/{offer.directory}" if offer else prov.firmware_path


def _p_firmware(offer: FirmwareOffer | None, phone: bool) -> Params:
    """P238 0 = check at every provisioning, 2 = never; no prefix or postfix around the
    image name; phones install without asking the user (P8375, absent on HT)."""
    if offer is None:
        return [("P238", "2")]
    params: Params = [("P232", ""), ("P233", ""), ("P238", "0")]
    if phone:
        params.append(("P8375", "0"))
    return params


def _alias_firmware(offer: FirmwareOffer | None) -> Params:
    """The same on GRP26xx; checkCondition has no alias vocabulary: its numbers (unverified)."""
    if offer is None:
        return [("provisioning.firmware.checkCondition", "2")]
    return [
        ("provisioning.firmware.filePrefix", ""),
        ("provisioning.firmware.filePostfix", ""),
        ("provisioning.firmware.checkCondition", "0"),
        ("provisioning.firmware.confirm.enable", "No"),
    ]


def _credentials(device: DeviceView, keys: CredentialKeys) -> Params:
    """The device's HTTP login and config key (P1359), only in a staging delivery."""
    if device.credentials is None:
        return []
    return [
        (keys.http_user, device.credentials.http_user),
        (keys.http_password, device.credentials.http_password),
        (keys.config_key, device.credentials.config_key),
    ]


def _p_globals(device: DeviceView, ctx: ProvisioningContext) -> Params:
    """System settings in P-value form; phones and ATAs differ as the module docstring says."""
    prov = Provisioning.of(device, ctx)
    phone = device.model.kind is DeviceKind.PHONE
    params: Params = [
        ("P2", device.admin_password),
        *setting_params(device, ctx),
        (KEEPALIVE_INTERVAL, str(ctx.nat_keepalive)),
    ]
    params.append(("P212", prov.protocol_number))
    if phone:
        params.append(("P6767", prov.protocol_number))
    params += [
        ("P237", prov.config_path),
        ("P192", _firmware_path(prov, device.firmware)),
        *_p_firmware(device.firmware, phone),
        ("P194", "2" if phone else "1"),
    ]
    if not phone:
        params.append(("P22296", "2"))
    params += [
        ("P193", CHECK_INTERVAL_MINUTES),
        ("P285", str(prov.hour)),
        ("P8459", str(prov.end_hour)),
        ("P8458", "1"),
        ("P4428", "0"),  # Disable SIP NOTIFY Authentication: No (NOTIFY is challenged)
        ("P145", "0"),  # DHCP option 43/66/160 must not override our server
    ]
    if not phone:
        # TR-069 off: GDMS must not take the device over. Only the HT templates have P1409;
        # the GXP16xx template's TR-069 section has no on/off switch (it starts at the ACS URL,
        # P4503), so nothing is written there (module docstring).
        params.append(("P1409", "0"))
    return params + _credentials(device, P_CREDENTIALS)


def _phone_accounts(
    device: DeviceView,
    ctx: ProvisioningContext,
    keys_of: Callable[[int], AccountKeys],
    reach_of: Callable[[int], ReachKeys],
    spell: Spelling,
) -> Params:
    """Every account of a phone, numbered from 1, labelled with the device's caller ID; the
    accounts in use with their failover core and NAT settings."""
    by_port = lines_by_port(device.lines, device.model)
    params: Params = []
    for n in range(1, device.model.lines + 1):
        line = by_port.get(n)
        expiry = _expiry_minutes(device, ctx)
        params += _account(keys_of(n), line, ctx, spell, expiry, device.caller_id)
        if line is not None:
            params += _reach(reach_of(n), ctx, spell, phone_local_port(n))
    return params


def _phone_p(device: DeviceView, ctx: ProvisioningContext) -> Params:
    accounts = _phone_accounts(
        device, ctx, lambda n: PHONE_ACCOUNTS[n - 1], lambda n: PHONE_REACH[n - 1], P_SPELLING
    )
    return accounts + _p_globals(device, ctx) + phonebook_params(device, ctx) + key_params(device)


def _phone_alias(device: DeviceView, ctx: ProvisioningContext) -> Params:
    """GXP21xx and GRP26xx: the same settings under their v2 aliases and alias vocabulary."""
    params = _phone_accounts(device, ctx, alias_account, alias_reach, ALIAS_SPELLING)
    prov = Provisioning.of(device, ctx)
    protocol = prov.protocol.upper()
    params += [
        # P2; not annotated in the GRP template the alias table comes from (wazo's base_v2).
        ("users.admin.password", device.admin_password),
        *setting_params(device, ctx),
        (ALIAS_KEEPALIVE_INTERVAL, str(ctx.nat_keepalive)),
    ]
    params += [
        ("provisioning.config.protocol", protocol),
        ("provisioning.firmware.protocol", protocol),
        ("provisioning.config.serverPath", prov.config_path),
        ("provisioning.firmware.serverPath", _firmware_path(prov, device.firmware)),
        *_alias_firmware(device.firmware),
        ("provisioning.auto.mode", "YesUpgradeHourOfDay"),
        ("provisioning.auto.minute", CHECK_INTERVAL_MINUTES),
        ("provisioning.auto.hour", str(prov.hour)),
        ("provisioning.auto.endHour", str(prov.end_hour)),
        ("provisioning.auto.randomTime.enable", "Yes"),
        ("sip.notify.challenge", "Yes"),
        ("provisioning.override.dhcp.allowCommonOptions", "No"),
        ("tr069.enable", "No"),
    ]
    params += phonebook_params(device, ctx)
    return params + _credentials(device, ALIAS_CREDENTIALS) + key_params(device)


def _ht80x(device: DeviceView, ctx: ProvisioningContext) -> Params:
    """One account per FXS port; Japan line settings on every port, used or not."""
    by_port = lines_by_port(device.lines, device.model)
    params: Params = []
    for n in range(1, device.model.lines + 1):
        keys, analog = HT80X_PORTS[n - 1]
        line = by_port.get(n)
        params += _account(keys, line, ctx, P_SPELLING, _expiry_minutes(device, ctx))
        params += _reach(HT_REACH[n - 1], ctx, P_SPELLING, HT_LOCAL_SIP_PORTS[n - 1])
        params += _analog(analog, line.fax_mode if line else None)
    return params + _p_globals(device, ctx)


def _ht81x(device: DeviceView, ctx: ProvisioningContext) -> Params:
    """Both profiles point at the PBX core; each port has its credentials and a profile."""
    by_port = lines_by_port(device.lines, device.model)
    server = sip_server(ctx)
    params: Params = []
    faxes = (FaxMode.T38, FaxMode.PASSTHROUGH)
    profiles = zip(HT81X_PROFILES, faxes, HT_REACH, HT_LOCAL_SIP_PORTS, strict=True)
    for profile, fax_mode, reach, local_port in profiles:
        params += [
            (profile.active, "1"),
            (profile.server, server),
            (profile.proxy, server),
            (profile.registration, "1"),
            (profile.unregister, "0"),
            (profile.expiry, _expiry_minutes(device, ctx)),
            *_analog(profile.analog, fax_mode),
            *_reach(reach, ctx, P_SPELLING, local_port),
        ]
    for n in range(1, device.model.lines + 1):
        keys = ht81x_port(n)
        line = by_port.get(n)
        if line is None:
            cleared = (keys.user, keys.auth, keys.password, keys.name)
            params += [*((key, "") for key in cleared), (keys.enable, "0")]
            continue
        passthrough = line.fax_mode is FaxMode.PASSTHROUGH
        params += [
            (keys.user, line.sip_username),
            (keys.auth, line.sip_username),
            (keys.password, line.sip_password),
            (keys.name, line.display_name),
            (keys.profile, PROFILE_PASSTHROUGH if passthrough else PROFILE_T38),
            (keys.enable, "1"),
        ]
    return params + _p_globals(device, ctx)


_FAMILIES: dict[str, Callable[[DeviceView, ProvisioningContext], Params]] = {
    "gxp16xx": _phone_p,
    "gxp21xx": _phone_alias,
    "grp26xx": _phone_alias,
    "ht80x": _ht80x,
    "ht81x": _ht81x,
}


def plan(
    request: FileRequest, device: DeviceView | None, ctx: ProvisioningContext
) -> TemplatePlan | None:
    """The device's own XML file; generic and legacy binary files are not served (404)."""
    if request.kind is not FileKind.DEVICE or device is None:
        return None
    require_requested_device(NAME, request, device)
    params = unique_params(with_raw(_FAMILIES[device.model.family](device, ctx), device))
    for name, value in params:
        refuse_unwritable_characters(name, value)
    return TemplatePlan(
        template=_TEMPLATES[device.model.file_format],
        params=params,
        content_type=CONTENT_TYPE,
        variables={"mac": device.mac},
    )
