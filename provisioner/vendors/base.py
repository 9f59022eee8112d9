"""Vendor-neutral types shared by the vendor modules, the renderer and the front doors.

The domain hands a vendor module a :class:`DeviceView` (plain data, secrets already
decrypted) and :class:`ProvisioningContext` (server-wide settings); the vendor module turns
them into the ordered parameter list its template places. Nothing here knows of sockets,
Flask or the database.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple


class RenderError(ValueError):
    """A value cannot be written into the vendor's file format (names what to fix)."""


class DeviceKind(enum.StrEnum):
    PHONE = "phone"
    ATA = "ata"
    GATEWAY = "gateway"


class FaxMode(enum.StrEnum):
    """FAX handling on an ATA port."""

    T38 = "t38"
    PASSTHROUGH = "passthrough"


class FileKind(enum.StrEnum):
    """What a requested file name asks for."""

    DEVICE = "device"  # per-device config: carries secrets
    BOOTSTRAP = "bootstrap"  # per-model file without secrets (Panasonic <MODEL>.cfg)
    GENERIC = "generic"  # generic/common file without secrets (404 unless configured)
    LEGACY_BINARY = "legacy_binary"  # Grandstream cfg<mac> binary (not served: 404)


@dataclass(frozen=True)
class ModelInfo:
    """One row of a vendor's model table."""

    vendor: str
    model: str  # canonical name, e.g. "GXP2170", "KX-HDV230"
    family: str  # e.g. "gxp16xx", "gxp21xx", "grp26xx", "ht80x", "ht81x", "kx-hdv"
    kind: DeviceKind
    lines: int  # SIP accounts (phones) or FXS ports (ATAs)
    file_format: str  # e.g. "gs-xml-p", "gs-xml-alias", "pana-text"
    japanese_display: bool = False


class FileRequest(NamedTuple):
    """A file name recognised by a vendor module (a named tuple: one per fetch)."""

    vendor: str
    kind: FileKind
    filename: str  # the last path segment as requested
    mac: str | None = None  # 12 lower-case hex digits, for per-device files
    model: str | None = None  # canonical model name, for per-model files


@dataclass(frozen=True)
class UserAgentInfo:
    """What a device says about itself in its User-Agent."""

    vendor: str
    model: str | None
    firmware: str | None
    mac: str | None  # 12 lower-case hex digits


@dataclass(frozen=True)
class LineView:
    """One line key or FXS port and the SIP account on it."""

    port: int  # 1-based
    extension: str
    direct_number: str | None
    display_name: str
    sip_username: str
    sip_password: str
    fax_mode: FaxMode | None = None  # ATA ports only


class KeyType(enum.StrEnum):
    """What a programmable key does (issue 15)."""

    LINE = "line"  # an account of the device: value = its line (port) number
    BLF = "blf"  # busy lamp of an extension of the same tenant; pressed while ringing: pickup
    SPEED_DIAL = "speed_dial"  # dials the value
    PARK = "park"  # the tenant's call park code
    PICKUP = "pickup"  # the tenant's pickup code (directed, when the value names an extension)
    DTMF = "dtmf"  # sends the value as DTMF during a call
    NONE = "none"  # does nothing


@dataclass(frozen=True)
class KeyView:
    """One programmable key as the file writes it: ``value`` is final (a BLF's extension, the
    digits a speed dial, park or pickup key dials, a line key's port number)."""

    position: int  # 1-based: the phone's keys first, then expansion module keys
    type: KeyType
    value: str = ""
    label: str = ""


@dataclass(frozen=True)
class KeyBank:
    """A run of keys of one kind, with the types they take."""

    name: str  # the vendor's name, e.g. "VPK", "MPK", "flexible button", "GXP2200EXT"
    count: int
    types: frozenset[KeyType]


@dataclass(frozen=True)
class KeyLayout:
    """A model's programmable keys: its own banks in position order, then its modules'."""

    banks: tuple[KeyBank, ...] = ()
    module: KeyBank | None = None  # one expansion module's keys
    max_modules: int = 0

    def phone_keys(self) -> int:
        return sum(bank.count for bank in self.banks)

    def positions(self, modules: int) -> int:
        """How many positions a device with ``modules`` expansion modules has."""
        return self.phone_keys() + (self.module.count * modules if self.module else 0)

    def bank_at(self, position: int) -> tuple[KeyBank, int] | None:
        """The bank ``position`` falls in and the key's 1-based index within its kind (module
        keys are numbered on across modules), or None past the phone's own keys and modules'
        (the caller checks the module count)."""
        index = position
        for bank in self.banks:
            if index <= bank.count:
                return bank, index
            index -= bank.count
        if self.module is not None and index <= self.module.count * self.max_modules:
            return self.module, index
        return None


@dataclass(frozen=True)
class PhonebookEntry:
    """One contact of a tenant's phonebook: ``numbers`` as (kind, number), kind one of
    ``office``, ``mobile``, ``home``, ``extension``."""

    name: str
    reading: str  # kana, for sorting; "" when unknown
    group: str
    numbers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ProvisioningCredentials:
    """The device's own way back in: HTTP auth for its fetches, the key of its config file.

    Placed in a file only when it is fetched from a staging network (the warehouse bench).
    """

    http_user: str
    http_password: str
    config_key: str  # Grandstream P1359 (XML config file password)


@dataclass(frozen=True)
class FirmwareOffer:
    """The one image a device is told to install next; no offer means "do not upgrade"."""

    version: str
    filename: str  # catalog file name, served at /firmware/<filename>

    @property
    def directory(self) -> str:
        """For devices that append their own file name to a server path (Grandstream):
        /firmware/<directory>/<any name> serves the same image."""
        return self.filename.removesuffix(".bin")


@dataclass(frozen=True)
class DeviceView:
    """Everything a template needs to know about one device."""

    mac: str  # 12 lower-case hex digits
    model: ModelInfo
    admin_password: str
    lines: tuple[LineView, ...]
    caller_id: str | None = None  # number presented on outgoing calls
    tenant: str | None = None
    credentials: ProvisioningCredentials | None = None  # staging deliveries only
    firmware: FirmwareOffer | None = None  # the rollout's next step for it, if any
    registration_expiry: int | None = None  # its tenant's, in seconds; None: the context's
    # Settings of provisioner.vendors.settings resolved for this device (a name absent: the
    # service default); raw vendor parameters an expert set, checked when they were set.
    settings: Mapping[str, str] = field(default_factory=dict)
    raw_parameters: tuple[tuple[str, str], ...] = ()
    keys: tuple[KeyView, ...] = ()  # programmable keys by position (none: the phone's own)
    expansion_modules: int = 0


@dataclass(frozen=True)
class ProvisioningContext:
    """Server-wide settings a config points the device at."""

    pbx_host: str  # registrar and proxy: the primary core (the SIP domain when pbx_srv)
    pbx_port: int = 5060
    # The failover core a file names after the primary (vendors take one), if any.
    pbx_backup: tuple[str, int] | None = None
    pbx_srv: bool = False  # devices resolve _sip._udp.<pbx_host> SRV records themselves
    http_base: str = "http://127.0.0.1:8080"  # scheme://host[:port][/path], no trailing slash
    tftp_host: str = "127.0.0.1"
    ntp_server: str = "ntp.nict.jp"
    registration_expiry: int = 600  # seconds
    nat_keepalive: int = 15  # seconds between NAT keep-alives
    resync_window: tuple[int, int] = (1, 5)  # daily config check between these hours (local time)
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TemplatePlan:
    """What the renderer needs: which template, with which (already vendor-shaped) values.

    ``params`` is the ordered parameter list the template loops over; each name appears
    once (checked by :func:`unique_params`).
    """

    template: str  # path under templates/, e.g. "grandstream/config.xml.j2"
    params: tuple[tuple[str, str], ...]
    content_type: str
    variables: Mapping[str, object] = field(default_factory=dict)  # e.g. a phonebook's contacts
    crlf: bool = False  # Panasonic files end every line with CR LF


def unique_params(pairs: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Freeze a parameter list, refusing a name set twice (vendors differ on which one wins)."""
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            raise RenderError(f"parameter {name} would be written twice")
        seen.add(name)
    return tuple(pairs)


@dataclass(frozen=True)
class VendorModule:
    """All one vendor's knowledge: model table, file names, User-Agent, parameter mapping.

    Each vendor package assembles one from its own functions; the registry holds them.
    """

    name: str
    models: Mapping[str, ModelInfo]
    # A requested file name (last path segment) recognised, or None if not ours.
    match_file: Callable[[str], FileRequest | None]
    # Model, firmware and MAC from a fetch's User-Agent, or None if not ours.
    parse_user_agent: Callable[[str], UserAgentInfo | None]
    # (mac, model) -> the canonical name of a device's own config file.
    device_filename: Callable[[str, ModelInfo], str]
    # (name, value): RenderError, naming ``name``, if ``value`` cannot be written in a setting.
    check_text: Callable[[str, str], None]
    # What check_text refuses beyond control characters, written so that it may stand in a
    # regular expression's character class (the API publishes one).
    unwritable_characters: str
    # (reboot) -> the ``Event`` header of the SIP NOTIFY that makes a device fetch its file again.
    resync_event: Callable[[bool], str]
    # (body, key) -> the file encrypted under the device's config key, or None if the vendor can't.
    seal: Callable[[bytes, str], bytes | None]
    # The template and values for a file, or None when the file is not served (404).
    plan: Callable[[FileRequest, DeviceView | None, ProvisioningContext], TemplatePlan | None]
    # (model, setting, value) -> why the model cannot take it, or None (settings catalogue).
    setting_problem: Callable[[ModelInfo, str, str], str | None]
    # (model, raw parameter name) -> why an expert may not set it on the model, or None.
    raw_parameter_problem: Callable[[ModelInfo, str], str | None]
    # The model's programmable keys (none: an empty layout).
    key_layout: Callable[[ModelInfo], KeyLayout]
    # (model, entries in display order) -> the phonebook file, or None: the model gets none.
    phonebook: Callable[[ModelInfo, Sequence[PhonebookEntry]], TemplatePlan | None]
