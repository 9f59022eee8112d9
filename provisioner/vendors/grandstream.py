"""Grandstream phones (GXP16xx, GXP21xx, GRP26xx) and ATAs (HT80x, HT81x).

Everything vendor-specific is decided here: which P-value (or GRP26xx alias) carries which
setting on which family, and how each family spells its values. The templates only place
the pairs. Sources: FusionPBX's copies of Grandstream's own config templates, wazo-provd
(with its known errors corrected: account 5 is P17xx, not P7xx; P863/P4417 are FXS port 2)
and the notes in ``docs/vendors.md`` (section numbers and source tags below refer to it).

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
* Caller ID: no family has a per-account "caller ID number"; the From user part is the SIP
  username and the PBX core rewrites the presented number from its own table. The file
  carries the device's caller ID only in the account name (line key label) on phones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from provisioner.vendors.base import (
    DeviceKind,
    DeviceView,
    FaxMode,
    FileKind,
    FileRequest,
    FirmwareOffer,
    LineView,
    ModelInfo,
    ProvisioningContext,
    RenderError,
    TemplatePlan,
    UserAgentInfo,
    unique_params,
)
from provisioner.vendors.common import (
    MAC_HEX,
    canonical_mac,
    line_label,
    lines_by_port,
    longest_model_prefix,
    provisioning_paths,
    refuse_unwritable_characters,
    resync_time,
    sip_server,
)
from provisioner.vendors.grandstream_crypto import encrypt_config

NAME = "grandstream"
P_FORMAT = "gs-xml-p"
ALIAS_FORMAT = "gs-xml-alias"
_TEMPLATES = {
    P_FORMAT: "grandstream/config-p.xml.j2",
    ALIAS_FORMAT: "grandstream/config-alias.xml.j2",
}
CONTENT_TYPE = "application/xml; charset=utf-8"

Params = list[tuple[str, str]]


def _model(name: str, family: str, kind: DeviceKind, lines: int, file_format: str) -> ModelInfo:
    # Phones list Japanese in their display language menu (P1362 "ja"); HT IVR has none.
    japanese = kind is DeviceKind.PHONE
    return ModelInfo(NAME, name, family, kind, lines, file_format, japanese_display=japanese)


_PHONE, _ATA = DeviceKind.PHONE, DeviceKind.ATA
MODELS: dict[str, ModelInfo] = {
    info.model: info
    for info in (
        _model("GXP1610", "gxp16xx", _PHONE, 1, P_FORMAT),
        _model("GXP1620", "gxp16xx", _PHONE, 2, P_FORMAT),
        _model("GXP1625", "gxp16xx", _PHONE, 2, P_FORMAT),
        _model("GXP1628", "gxp16xx", _PHONE, 2, P_FORMAT),
        _model("GXP1630", "gxp16xx", _PHONE, 3, P_FORMAT),
        _model("GXP2130", "gxp21xx", _PHONE, 3, P_FORMAT),
        _model("GXP2135", "gxp21xx", _PHONE, 4, P_FORMAT),
        _model("GXP2140", "gxp21xx", _PHONE, 4, P_FORMAT),
        _model("GXP2160", "gxp21xx", _PHONE, 6, P_FORMAT),
        _model("GXP2170", "gxp21xx", _PHONE, 6, P_FORMAT),
        _model("GRP2612", "grp26xx", _PHONE, 2, ALIAS_FORMAT),
        _model("GRP2613", "grp26xx", _PHONE, 3, ALIAS_FORMAT),
        _model("GRP2614", "grp26xx", _PHONE, 4, ALIAS_FORMAT),
        _model("GRP2615", "grp26xx", _PHONE, 5, ALIAS_FORMAT),
        _model("GRP2616", "grp26xx", _PHONE, 6, ALIAS_FORMAT),
        _model("HT801", "ht80x", _ATA, 1, P_FORMAT),
        _model("HT802", "ht80x", _ATA, 2, P_FORMAT),
        _model("HT812", "ht81x", _ATA, 2, P_FORMAT),
        _model("HT814", "ht81x", _ATA, 4, P_FORMAT),
        _model("HT818", "ht81x", _ATA, 8, P_FORMAT),
    )
}


# --- file names --------------------------------------------------------------------------

_MAC_FILE = re.compile(rf"cfg(?P<mac>{MAC_HEX})(?P<ext>\.xml|\.bin)?", re.IGNORECASE)
_GENERIC_FILE = re.compile(r"cfg\.xml", re.IGNORECASE)
_MODEL_FILE = re.compile(r"cfg(?P<model>[a-z0-9]+)\.xml", re.IGNORECASE)


# --- User-Agent ----------------------------------------------------------------------------

_UA = re.compile(
    r"Grandstream\s+Model\s+HW\s+(?P<model>\S+)(?:\s+V\S+)?\s+SW\s+(?P<firmware>\S+)"
    rf"(?:\s+DevId\s+(?P<mac>{MAC_HEX})\b)?"
)
_LEGACY_UA = re.compile(
    r"Grandstream\s+(?P<model>GXP\d+)\s+\(\S*?:(?P<firmware>[^/\s]+)/\S*\)"
    rf"(?:\s+DevId\s+(?P<mac>{MAC_HEX})\b)?"
)
USER_AGENT_SAMPLES: dict[str, tuple[str | None, str | None, str | None]] = {
    # [WZ] common.py comments and FusionPBX app/provision/index.php (docs/vendors.md §1.9)
    "Grandstream Model HW GXP1405 SW 1.0.4.23 DevId 000b8240d55c": (
        "GXP1405", "1.0.4.23", "000b8240d55c"),
    "Grandstream Model HW GXP1628 SW 1.0.4.138 DevId c074ad2bd859": (
        "GXP1628", "1.0.4.138", "c074ad2bd859"),
    "Grandstream Model HW GXP2170 SW 1.0.11.79 DevId c074ad0b63ee": (
        "GXP2170", "1.0.11.79", "c074ad0b63ee"),
    "Grandstream Model HW GXP2200 V2.2A SW 1.0.1.33 DevId 000b82462d97": (
        "GXP2200", "1.0.1.33", "000b82462d97"),
    "Grandstream Model HW GXV3350  V1.3A SW 1.0.1.8 DevId c074ad150b88": (
        "GXV3350", "1.0.1.8", "c074ad150b88"),
    "Grandstream Model HW GRP2614 SW 1.0.5.15 DevId c074ad0b63ee": (
        "GRP2614", "1.0.5.15", "c074ad0b63ee"),
    "Grandstream Model HW HT801 V1.1A SW 1.0.17.5 DevId c074ad273a10": (
        "HT801", "1.0.17.5", "c074ad273a10"),
    "Grandstream Model HW HT802V2 V1.0A SW 1.0.5.4 DevId EC74D763E419": (
        "HT802V2", "1.0.5.4", "ec74d763e419"),
    "Grandstream Model HW GXP2170 SW 1.0.11.79": ("GXP2170", "1.0.11.79", None),
    "Grandstream GXP2000 (gxp2000e.bin:1.2.5.3/boot55e.bin:1.1.6.9) DevId 000b822726c8": (
        "GXP2000", "1.2.5.3", "000b822726c8"),
}  # fmt: skip


# --- parameter tables ----------------------------------------------------------------------


@dataclass(frozen=True)
class AccountKeys:
    """Where one SIP account's settings live (P-values or aliases)."""

    active: str
    label: str | None  # account name: the line key label (phones only)
    server: str
    proxy: str
    user: str
    auth: str
    password: str
    name: str
    registration: str
    unregister: str
    expiry: str  # minutes


def _p_block(base: int) -> AccountKeys:
    """Accounts 2-6 share one layout: active x01, name x17, server x02 ... expiry x12."""
    return AccountKeys(*(f"P{base + offset}" for offset in (1, 17, 2, 3, 4, 5, 6, 7, 10, 11, 12)))


# GXP16xx/GXP21xx accounts 1-6 (FusionPBX gxp16xx fw 1.0.4.33 and gxp21xx fw 1.0.5.32).
PHONE_ACCOUNTS: tuple[AccountKeys, ...] = (
    AccountKeys("P271", "P270", "P47", "P48", "P35", "P36", "P34", "P3", "P31", "P81", "P32"),
    _p_block(400),
    _p_block(500),
    _p_block(600),
    _p_block(1700),  # wazo's "line + 2" formula gives P7xx here: wrong
    _p_block(1800),
)


def alias_account(n: int) -> AccountKeys:
    """GRP26xx account ``n`` (docs/vendors.md §1.3, alias table, ``{$row.line_number}`` = n)."""
    return AccountKeys(
        *(
            f"account.{n}.{suffix}"
            for suffix in (
                "enable",
                "name",
                "sip.server.1.address",
                "sip.outboundProxy.1.address",
                "sip.userid",
                "sip.subscriber.userid",
                "sip.subscriber.password",
                "sip.subscriber.name",
                "sip.registration",
                "sip.unregisterOnReboot",
                "sip.registerExpiration",
            )
        )
    )


@dataclass(frozen=True)
class AnalogKeys:
    """Line-side settings of an FXS port (HT80x) or a SIP profile (HT81x)."""

    fax_mode: str  # 0 = T.38 (auto detect), 1 = pass-through
    reinvite_on_fax: str  # re-INVITE after fax tone detected
    slic: str  # 2 = JAPAN CO
    caller_id_scheme: str  # 10 = NTT Japan


SLIC_JAPAN_CO = "2"
CALLER_ID_NTT_JAPAN = "10"

PORT1_ANALOG = AnalogKeys("P228", "P4416", "P854", "P853")
PORT2_ANALOG = AnalogKeys("P710", "P4417", "P864", "P863")  # wazo emits these as global: wrong

# HT80x FXS ports: one full account each; port 2 is the +700 set.
HT80X_PORTS: tuple[tuple[AccountKeys, str, AnalogKeys], ...] = (
    (
        AccountKeys("P271", None, "P47", "P48", "P35", "P36", "P34", "P3", "P31", "P81", "P32"),
        "P40",
        PORT1_ANALOG,
    ),
    (
        AccountKeys("P401", None, "P747", "P748", "P735", "P736", "P734", "P703", "P731",
                    "P752", "P732"),
        "P740",
        PORT2_ANALOG,
    ),
)  # fmt: skip
HT80X_LOCAL_SIP_PORTS = ("5060", "5062")


@dataclass(frozen=True)
class ProfileKeys:
    """An HT81x SIP profile: the server side shared by the ports that use it."""

    active: str
    server: str
    proxy: str
    registration: str
    unregister: str
    expiry: str
    analog: AnalogKeys


# Profile 1 takes the HT80x port-1 numbers, profile 2 the +700 set. Profile 1 is set up for
# T.38, profile 2 for pass-through: on HT81x a port's fax mode is chosen by its profile.
HT81X_PROFILES = (
    ProfileKeys("P271", "P47", "P48", "P31", "P81", "P32", PORT1_ANALOG),
    ProfileKeys("P401", "P747", "P748", "P731", "P752", "P732", PORT2_ANALOG),
)
PROFILE_T38, PROFILE_PASSTHROUGH = "0", "1"


@dataclass(frozen=True)
class PortKeys:
    """An HT81x FXS port: its own credentials and the profile it registers through."""

    user: str
    auth: str
    password: str
    name: str
    profile: str
    enable: str


def ht81x_port(n: int) -> PortKeys:
    """FXS port ``n``: P4060/P4090/P4120/P4180/P4150/P4595 + (n - 1)."""
    return PortKeys(*(f"P{base + n - 1}" for base in (4060, 4090, 4120, 4180, 4150, 4595)))


# --- values --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spelling:
    """How a family writes yes/no."""

    yes: str
    no: str


P_SPELLING = Spelling("1", "0")
ALIAS_SPELLING = Spelling("Yes", "No")
TIME_ZONE_JAPAN = "TZZ-9"
CHECK_INTERVAL_MINUTES = "1440"


def _expiry_minutes(ctx: ProvisioningContext) -> str:
    return str(max(1, ctx.registration_expiry // 60))


def _account(
    keys: AccountKeys,
    line: LineView | None,
    ctx: ProvisioningContext,
    spell: Spelling,
    caller_id: str | None = None,
) -> Params:
    """One account; an account with no line is switched off and its credentials cleared."""
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
        (keys.expiry, _expiry_minutes(ctx)),
    ]
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


def _p_globals(device: DeviceView, ctx: ProvisioningContext) -> Params:
    """System settings in P-value form; phones and ATAs differ as the module docstring says."""
    prov = Provisioning.of(device, ctx)
    phone = device.model.kind is DeviceKind.PHONE
    params: Params = [
        ("P2", device.admin_password),
        ("P30", ctx.ntp_server),
        ("P64", TIME_ZONE_JAPAN),
    ]
    if device.model.japanese_display:
        params.append(("P1362", "ja"))
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
        ("P1409", "0"),  # TR-069 off: GDMS must not take the device over
    ]
    if device.credentials is not None:
        params += [
            ("P1360", device.credentials.http_user),
            ("P1361", device.credentials.http_password),
            ("P1359", device.credentials.config_key),
        ]
    return params


def _phone_p(device: DeviceView, ctx: ProvisioningContext) -> Params:
    by_port = lines_by_port(device.lines, device.model)
    params: Params = []
    for n in range(1, device.model.lines + 1):
        line = by_port.get(n)
        params += _account(PHONE_ACCOUNTS[n - 1], line, ctx, P_SPELLING, device.caller_id)
    return params + _p_globals(device, ctx)


def _phone_alias(device: DeviceView, ctx: ProvisioningContext) -> Params:
    """GRP26xx: the same settings under their v2 aliases and alias vocabulary."""
    by_port = lines_by_port(device.lines, device.model)
    params: Params = []
    for n in range(1, device.model.lines + 1):
        line = by_port.get(n)
        params += _account(alias_account(n), line, ctx, ALIAS_SPELLING, device.caller_id)
    prov = Provisioning.of(device, ctx)
    protocol = prov.protocol.upper()
    params += [
        # P2; not annotated in the GRP template the alias table comes from (wazo's base_v2).
        ("users.admin.password", device.admin_password),
        ("dateTime.ntp.server.1", ctx.ntp_server),
        ("dateTime.timezone", TIME_ZONE_JAPAN),
    ]
    if device.model.japanese_display:
        params.append(("language.gui", "ja"))
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
    if device.credentials is not None:
        params += [
            ("provisioning.config.username", device.credentials.http_user),
            ("provisioning.config.password", device.credentials.http_password),
            ("provisioning.config.filePassword", device.credentials.config_key),
        ]
    return params


def _ht80x(device: DeviceView, ctx: ProvisioningContext) -> Params:
    """One account per FXS port; Japan line settings on every port, used or not."""
    by_port = lines_by_port(device.lines, device.model)
    params: Params = []
    for n in range(1, device.model.lines + 1):
        keys, local_port_key, analog = HT80X_PORTS[n - 1]
        line = by_port.get(n)
        params += _account(keys, line, ctx, P_SPELLING)
        params.append((local_port_key, HT80X_LOCAL_SIP_PORTS[n - 1]))
        params += _analog(analog, line.fax_mode if line else None)
    return params + _p_globals(device, ctx)


def _ht81x(device: DeviceView, ctx: ProvisioningContext) -> Params:
    """Both profiles point at the PBX core; each port has its credentials and a profile."""
    by_port = lines_by_port(device.lines, device.model)
    server = sip_server(ctx)
    params: Params = []
    for profile, fax_mode in zip(HT81X_PROFILES, (FaxMode.T38, FaxMode.PASSTHROUGH), strict=True):
        params += [
            (profile.active, "1"),
            (profile.server, server),
            (profile.proxy, server),
            (profile.registration, "1"),
            (profile.unregister, "0"),
            (profile.expiry, _expiry_minutes(ctx)),
            *_analog(profile.analog, fax_mode),
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
    "gxp21xx": _phone_p,
    "grp26xx": _phone_alias,
    "ht80x": _ht80x,
    "ht81x": _ht81x,
}


class Grandstream:
    """The :class:`~provisioner.vendors.base.VendorModule` for Grandstream."""

    def __init__(self) -> None:
        self.name = NAME
        self.models: Mapping[str, ModelInfo] = MappingProxyType(MODELS)

    def match_file(self, filename: str) -> FileRequest | None:
        """``cfg<mac>.xml``; legacy ``cfg<mac>``/``cfg<mac>.bin``; ``cfg<model>.xml``; ``cfg.xml``.

        The name is the last path segment as requested: anything with a separator, a MAC of
        the wrong length or a model we do not know is not ours; a model name with a suffix is
        its base model (``cfggrp2612w.xml`` is the GRP2612's).
        """
        if found := _MAC_FILE.fullmatch(filename):
            xml = (found["ext"] or "").lower() == ".xml"
            kind = FileKind.DEVICE if xml else FileKind.LEGACY_BINARY
            return FileRequest(NAME, kind, filename, mac=found["mac"].lower())
        if _GENERIC_FILE.fullmatch(filename):
            return FileRequest(NAME, FileKind.GENERIC, filename)
        if found := _MODEL_FILE.fullmatch(filename):
            model = longest_model_prefix(found["model"], MODELS)
            if model is not None:
                return FileRequest(NAME, FileKind.GENERIC, filename, model=model.model)
        return None

    def device_filename(self, mac: str, model: ModelInfo) -> str:
        return f"cfg{canonical_mac(mac)}.xml"

    def seal(self, body: bytes, key: str) -> bytes | None:
        """AES-256-CBC under P1359, which the device got in clear on the bench (§1.8)."""
        return encrypt_config(body, key)

    def resync_event(self, reboot: bool) -> str:
        """``check-sync`` (as Wazo sends); the reboot flag only when a reboot is wanted."""
        return "check-sync;reboot=true" if reboot else "check-sync"

    def parse_user_agent(self, user_agent: str) -> UserAgentInfo | None:
        """Model (canonical when known, else as sent in upper case), firmware and MAC."""
        found = _UA.match(user_agent.strip()) or _LEGACY_UA.match(user_agent.strip())
        if found is None:
            return None
        raw_model = found["model"].upper()
        model = MODELS[raw_model].model if raw_model in MODELS else raw_model
        mac = found["mac"].lower() if found["mac"] else None
        return UserAgentInfo(NAME, model, found["firmware"], mac)

    def plan(
        self, request: FileRequest, device: DeviceView | None, ctx: ProvisioningContext
    ) -> TemplatePlan | None:
        """The device's own XML file; generic and legacy binary files are not served (404)."""
        if request.kind is not FileKind.DEVICE or device is None:
            return None
        if device.model.vendor != NAME or device.mac != request.mac:
            raise RenderError(
                f"{request.filename} was asked for, but the device given is the "
                f"{device.model.vendor} {device.model.model} {device.mac}"
            )
        params = unique_params(_FAMILIES[device.model.family](device, ctx))
        for name, value in params:
            refuse_unwritable_characters(name, value)
        return TemplatePlan(
            template=_TEMPLATES[device.model.file_format],
            params=params,
            content_type=CONTENT_TYPE,
            variables={"mac": device.mac},
        )


VENDOR = Grandstream()
