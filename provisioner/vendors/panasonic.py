"""Panasonic SIP phones (KX-HDV, KX-TGP600, KX-UT1xx) in the "Standard Format" text file.

The format has no escaping: a value sits between double quotes on one CR LF line
(``NAME="value"``, name <= 32 characters, value <= 500, line <= 537 bytes), so this module
refuses any value that could break its line (:func:`check_text_value`) and the template
writes values as they are. Sources: the Panasonic administrator guides, wazo-provd and the
FusionPBX/SARK samples, as collected in ``docs/vendors.md`` section 2.

Decisions taken where the sources are unclear:

* ``PHONE_NUMBER_n`` is the SIP username: it is the user part of From/To/REGISTER, which the
  PBX core knows the account by (never the direct number). ``LINE_ID_n`` (a line label in
  the samples) carries the extension and the caller ID, for people to read.
* Caller ID: no Panasonic parameter sets a presented number apart from ``PHONE_NUMBER_n``;
  the PBX core rewrites the From number from its own table, so the file only shows it.
* ``LINE_ENABLE_n`` is documented for UT670/TGP5xx only, not for these models: a line is
  in use when it has a registrar; unused lines are written empty so a re-used device keeps
  no credentials of its previous owner.
* KX-TGP600 uses the KX-HDV header: its guide shares the HDV text (INFERRED, not verified).
* The Japanese value of ``DEFAULT_LANGUAGE`` is not documented for these models; it is not
  written and no model claims a Japanese display.
* Line counts (SIP accounts) are the product owner's table; the guides seen did not list
  them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from provisioner.vendors.base import (
    DeviceKind,
    DeviceView,
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
    firmware_url,
    line_label,
    lines_by_port,
    longest_model_prefix,
    refuse_unwritable_characters,
    resync_time,
)

NAME = "panasonic"
FILE_FORMAT = "pana-text"
TEMPLATE = "panasonic/config.cfg.j2"
CONTENT_TYPE = "text/plain; charset=utf-8"
MAX_NAME_CHARS = 32
MAX_VALUE_BYTES = 500  # with a 32-character name: 32 + 2 + 500 + 1 + CR LF = 537 bytes

Params = list[tuple[str, str]]


def _model(name: str, family: str, lines: int) -> ModelInfo:
    return ModelInfo(NAME, name, family, DeviceKind.PHONE, lines, FILE_FORMAT)


MODELS: dict[str, ModelInfo] = {
    info.model: info
    for info in (
        _model("KX-HDV130", "kx-hdv", 2),
        _model("KX-HDV230", "kx-hdv", 6),
        _model("KX-HDV330", "kx-hdv", 12),
        _model("KX-HDV430", "kx-hdv", 16),
        _model("KX-TGP600", "kx-tgp600", 8),
        _model("KX-UT113", "kx-ut", 2),
        _model("KX-UT123", "kx-ut", 2),
        _model("KX-UT133", "kx-ut", 4),
        _model("KX-UT136", "kx-ut", 6),
    )
}

_PARAM_NAME = re.compile(r"[A-Z0-9_]{1,32}")


def check_text_value(name: str, value: str) -> None:
    """Refuse a value that cannot sit inside ``NAME="value"`` on one line.

    ``name`` only labels the message (the import sheet passes ``display_name``).
    """
    if '"' in value:
        raise RenderError(
            f'{name}: a double quote (") cannot be written in a Panasonic setting; remove it'
        )
    refuse_unwritable_characters(name, value)
    size = len(value.encode("utf-8"))
    if size > MAX_VALUE_BYTES:
        raise RenderError(
            f"{name}: {size} bytes is longer than the {MAX_VALUE_BYTES} bytes a Panasonic "
            "setting holds (a Japanese character takes 3); shorten it"
        )


def _checked(params: Params) -> tuple[tuple[str, str], ...]:
    """Each parameter once, each name well-formed, each value safe on its line."""
    frozen = unique_params(params)
    for name, value in frozen:
        if not _PARAM_NAME.fullmatch(name):
            raise RenderError(f"parameter name {name!r} is not 1-32 of A-Z, 0-9 and _")
        check_text_value(name, value)
    return frozen


def _standard_file_path(ctx: ProvisioningContext) -> str:
    # The phone expands {MAC} (upper case) itself; we answer both cases.
    return f"{ctx.http_base}/Config{{MAC}}.cfg"


def _japan(ctx: ProvisioningContext) -> Params:
    return [
        ("NTP_ADDR", ctx.ntp_server),
        ("TIME_ZONE", "540"),  # UTC offset in minutes
        ("DST_ENABLE", "N"),
    ]


def _bootstrap(ctx: ProvisioningContext) -> Params:
    """``<MODEL>.cfg``: no secrets, only where the device's own file is and Japan basics."""
    return [("CFG_STANDARD_FILE_PATH", _standard_file_path(ctx)), *_japan(ctx)]


def _line(n: int, line: LineView | None, caller_id: str | None, ctx: ProvisioningContext) -> Params:
    if line is None:
        cleared = ("PHONE_NUMBER", "LINE_ID", "DISPLAY_NAME", "SIP_AUTHID", "SIP_PASS",
                   "SIP_RGSTR_ADDR", "SIP_PRXY_ADDR")  # fmt: skip
        return [(f"{name}_{n}", "") for name in cleared]
    return [
        (f"PHONE_NUMBER_{n}", line.sip_username),
        (f"LINE_ID_{n}", line_label(line, caller_id)),
        (f"DISPLAY_NAME_{n}", line.display_name),
        (f"SIP_AUTHID_{n}", line.sip_username),
        (f"SIP_PASS_{n}", line.sip_password),
        (f"SIP_RGSTR_ADDR_{n}", ctx.pbx_host),
        (f"SIP_RGSTR_PORT_{n}", str(ctx.pbx_port)),
        (f"SIP_PRXY_ADDR_{n}", ctx.pbx_host),
        (f"SIP_PRXY_PORT_{n}", str(ctx.pbx_port)),
        (f"REG_EXPIRE_TIME_{n}", str(ctx.registration_expiry)),
        # A distinct local port per line (FusionPBX's UT133 sample: 5060, 5070, 5080, 5090).
        (f"SIP_SRC_PORT_{n}", str(5060 + 10 * (n - 1))),
    ]


def _firmware(offer: FirmwareOffer | None, ctx: ProvisioningContext) -> Params:
    """The device upgrades when FIRM_VERSION differs from what it runs (§2.3): it is only
    written with the one step it should install now, else upgrades are off."""
    if offer is None:
        return [("FIRM_UPGRADE_ENABLE", "N")]
    return [
        ("FIRM_UPGRADE_ENABLE", "Y"),
        ("FIRM_UPGRADE_AUTO", "Y"),
        ("FIRM_VERSION", offer.version),
        ("FIRM_FILE_PATH", firmware_url(ctx, offer.filename)),
    ]


def _device(device: DeviceView, ctx: ProvisioningContext) -> Params:
    hour, minute = resync_time(device.mac, ctx.resync_window)
    params: Params = [
        ("ADMIN_ID", "admin"),
        ("ADMIN_PASS", device.admin_password),
        *_japan(ctx),
        ("PROVISION_ENABLE", "Y"),
        ("CFG_STANDARD_FILE_PATH", _standard_file_path(ctx)),
        ("CFG_CYCLIC", "Y"),
        ("CFG_CYCLIC_INTVL", "1440"),  # minutes
        ("CFG_RTRY_INTVL", "30"),  # minutes
        # Daily at a time of its own in the window (overrides the interval when set).
        ("CFG_RESYNC_TIME", f"{hour:02d}:{minute:02d}"),
        ("CFG_RESYNC_FROM_SIP", "check-sync"),  # Event header of the PBX's resync NOTIFY
        *_firmware(device.firmware, ctx),
    ]
    if device.credentials is not None:  # Panasonic has no config key we can use (§2.4)
        params += [
            ("HTTP_AUTH_ID", device.credentials.http_user),
            ("HTTP_AUTH_PASSWORD", device.credentials.http_password),
        ]
    by_port = lines_by_port(device.lines, device.model)
    for n in range(1, device.model.lines + 1):
        params += _line(n, by_port.get(n), device.caller_id, ctx)
    return params


# --- file names and User-Agent -------------------------------------------------------------

_DEVICE_FILE = re.compile(rf"Config(?P<mac>{MAC_HEX})\.cfg", re.IGNORECASE)
_GENERIC_FILE = re.compile(r"ConfigCommon\.cfg", re.IGNORECASE)
_MODEL_FILE = re.compile(r"(?P<model>KX-[A-Z0-9]+)\.cfg", re.IGNORECASE)

_UA = re.compile(
    rf"Panasonic[_-](?P<model>[^/\s]+)/(?P<firmware>[^\s(]+)(?:\s+\((?P<mac>{MAC_HEX})\))?"
)
USER_AGENT_SAMPLES: dict[str, tuple[str | None, str | None, str | None]] = {
    # docs/vendors.md §2.5: HTTP UA from wazo-provd's common.py
    "Panasonic_KX-UT113/01.133 (0080f0c8c381)": ("KX-UT113", "01.133", "0080f0c8c381"),
    # FusionPBX PR #2326 (its MAC elided there; this one is illustrative, upper case)
    "Panasonic_KX-TGP500B09/22.90 (0080F0112233)": ("KX-TGP500B09", "22.90", "0080f0112233"),
    # a SIP User-Agent: hyphen after "Panasonic", regional suffix on the model
    "Panasonic-KX-TGP600RU/01.061 (080023e21a52)": ("KX-TGP600", "01.061", "080023e21a52"),
    # no KX-HDV sample was found: INFERRED from the {MODEL}/{fwver} ({mac}) pattern
    "Panasonic_KX-HDV230NE/01.000 (0080f0aabbcc)": ("KX-HDV230", "01.000", "0080f0aabbcc"),
    "Panasonic_KX-HDV230/01.000": ("KX-HDV230", "01.000", None),
}


class Panasonic:
    """The :class:`~provisioner.vendors.base.VendorModule` for Panasonic."""

    def __init__(self) -> None:
        self.name = NAME
        self.models: Mapping[str, ModelInfo] = MappingProxyType(MODELS)

    def match_file(self, filename: str) -> FileRequest | None:
        """``Config<MAC>.cfg`` (any case), ``ConfigCommon.cfg``, ``<MODEL>.cfg``.

        A model file may carry a regional suffix (``KX-TGP600RU.cfg``): it is the longest
        known model the name starts with; an unknown model is not ours.
        """
        if found := _DEVICE_FILE.fullmatch(filename):
            return FileRequest(NAME, FileKind.DEVICE, filename, mac=found["mac"].lower())
        if _GENERIC_FILE.fullmatch(filename):
            return FileRequest(NAME, FileKind.GENERIC, filename)
        if found := _MODEL_FILE.fullmatch(filename):
            model = longest_model_prefix(found["model"], MODELS)
            if model is not None:
                return FileRequest(NAME, FileKind.BOOTSTRAP, filename, model=model.model)
        return None

    def device_filename(self, mac: str, model: ModelInfo) -> str:
        return f"Config{canonical_mac(mac).upper()}.cfg"

    def seal(self, body: bytes, key: str) -> bytes | None:
        """None: Panasonic's .e2c/.e3c cipher is not documented (§2.4); HTTPS protects it."""
        del body, key
        return None

    def resync_event(self, reboot: bool) -> str:
        """The ``CFG_RESYNC_FROM_SIP`` value the file sets; FusionPBX's flag for a reboot."""
        return "check-sync;reboot=true" if reboot else "check-sync"

    def parse_user_agent(self, user_agent: str) -> UserAgentInfo | None:
        """Model (a known model without its regional suffix, else as sent), firmware, MAC."""
        found = _UA.match(user_agent.strip())
        if found is None:
            return None
        known = longest_model_prefix(found["model"], MODELS)
        model = known.model if known else found["model"].upper()
        mac = found["mac"].lower() if found["mac"] else None
        return UserAgentInfo(NAME, model, found["firmware"], mac)

    def plan(
        self, request: FileRequest, device: DeviceView | None, ctx: ProvisioningContext
    ) -> TemplatePlan | None:
        """The bootstrap and per-device files; ``ConfigCommon.cfg`` is not served (404)."""
        if request.kind is FileKind.BOOTSTRAP:
            params = _checked(_bootstrap(ctx))
        elif request.kind is FileKind.DEVICE and device is not None:
            if device.model.vendor != NAME or device.mac != request.mac:
                raise RenderError(
                    f"{request.filename} was asked for, but the device given is the "
                    f"{device.model.vendor} {device.model.model} {device.mac}"
                )
            params = _checked(_device(device, ctx))
        else:
            return None
        return TemplatePlan(TEMPLATE, params, CONTENT_TYPE, crlf=True)


VENDOR = Panasonic()
