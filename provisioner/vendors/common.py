"""Small facts both vendor packages need: MAC forms, the PBX address, our URLs, resync times.

Kept free of vendor vocabulary: each vendor module turns these plain values into its own
parameter names and value spellings.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from urllib.parse import urlsplit

from provisioner.vendors.base import (
    DeviceView,
    FileRequest,
    LineView,
    ModelInfo,
    ProvisioningContext,
    RenderError,
)

MAC_HEX = "[0-9A-Fa-f]{12}"
_MAC = re.compile(MAC_HEX)
SIP_DEFAULT_PORT = 5060
# The Event of the SIP NOTIFY that makes a device fetch its file again: Wazo sends it to
# Grandstream, Panasonic's CFG_RESYNC_FROM_SIP is set to it.
RESYNC_EVENT = "check-sync"

# A parameter list as a vendor builds it, in file order, before :func:`~base.unique_params`.
Params = list[tuple[str, str]]


def canonical_mac(mac: str) -> str:
    """12 lower-case hex digits; anything else is a caller's bug, not a device's input."""
    if not _MAC.fullmatch(mac):
        raise ValueError(f"MAC {mac!r} is not 12 hex digits")
    return mac.lower()


def longest_model_prefix(name: str, models: Mapping[str, ModelInfo]) -> ModelInfo | None:
    """The known model a name starts with, longest first (``KX-TGP600RU`` -> ``KX-TGP600``)."""
    upper = name.upper()
    for model in sorted(models, key=len, reverse=True):
        if upper.startswith(model.upper()):
            return models[model]
    return None


def resync_event(reboot: bool) -> str:
    """:data:`RESYNC_EVENT`, with FusionPBX's reboot flag only when a reboot is wanted."""
    return f"{RESYNC_EVENT};reboot=true" if reboot else RESYNC_EVENT


def require_requested_device(vendor: str, request: FileRequest, device: DeviceView) -> None:
    """Refuse to render one device's secrets under another device's (or vendor's) file name."""
    if device.model.vendor != vendor or device.mac != request.mac:
        raise RenderError(
            f"{request.filename} was asked for, but the device given is the "
            f"{device.model.vendor} {device.model.model} {device.mac}"
        )


def sip_server(ctx: ProvisioningContext) -> str:
    """``host`` or ``host:port``: devices assume 5060 when no port is written. In SRV mode the
    bare domain: a port would make the device skip the SRV lookup."""
    return _host_port(ctx.pbx_host, None if ctx.pbx_srv else ctx.pbx_port)


def registration_expiry(device: DeviceView, ctx: ProvisioningContext) -> int:
    """Seconds the device asks to stay registered: its tenant's, else the service's."""
    return device.registration_expiry or ctx.registration_expiry


def backup_server(ctx: ProvisioningContext) -> str:
    """The failover core as ``host[:port]``, or "" (none, or SRV mode, where DNS names them)."""
    if ctx.pbx_backup is None or ctx.pbx_srv:
        return ""
    return _host_port(*ctx.pbx_backup)


def _host_port(host: str, port: int | None) -> str:
    return host if port in (None, SIP_DEFAULT_PORT) else f"{host}:{port}"


def provisioning_paths(ctx: ProvisioningContext) -> tuple[str, str, str]:
    """(scheme, config path, firmware path) of our HTTP front door, paths without scheme.

    Devices that take ``host[:port]/path`` (Grandstream P237/P192) get the scheme as a
    separate protocol switch; a scheme other than http/https cannot be expressed there.
    """
    parts = urlsplit(ctx.http_base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RenderError(f"http_base {ctx.http_base!r} must be an http:// or https:// URL")
    config = f"{parts.netloc}{parts.path.rstrip('/')}"
    return parts.scheme, config, f"{parts.netloc}/firmware"


def firmware_url(ctx: ProvisioningContext, filename: str) -> str:
    """Where a device that takes a whole URL (Panasonic FIRM_FILE_PATH) downloads an image:
    the same place Grandstream's firmware server path points at."""
    scheme, _, firmware_path = provisioning_paths(ctx)
    return f"{scheme}://{firmware_path}/{filename}"


def resync_time(mac: str, window: tuple[int, int]) -> tuple[int, int]:
    """(hour, minute) of a device's daily config check, spread over the window by its MAC.

    Derived from sha256(MAC) so the same device always gets the same time (its file stays
    byte-stable) while a customer's devices do not all ask at once. The window is
    ``[start, end)`` in local hours and may wrap midnight; ``start == end`` means all day.
    """
    start, end = window
    if not (0 <= start <= 23 and 0 <= end <= 24):
        raise RenderError(f"resync_window {window!r} must be hours 0-23 (end up to 24)")
    span_hours = (end - start) % 24 or 24
    digest = hashlib.sha256(canonical_mac(mac).encode("ascii")).digest()
    offset = int.from_bytes(digest[:8], "big") % (span_hours * 60)
    return (start + offset // 60) % 24, offset % 60


def refuse_unwritable_characters(name: str, value: str) -> None:
    """Refuse what no device setting can hold: control characters (XML 1.0 forbids most,
    Panasonic's one-line format all), lone surrogates (not UTF-8) and U+FFFE/U+FFFF."""
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs") or char in "\ufffe\uffff":
            raise RenderError(
                f"{name}: character U+{ord(char):04X} cannot be written in a device setting; "
                "remove it (line breaks, tabs and other control characters are not allowed)"
            )


def lines_by_port(lines: tuple[LineView, ...], model: ModelInfo) -> dict[int, LineView]:
    """The device's lines keyed by port, refusing ports the model does not have."""
    by_port: dict[int, LineView] = {}
    for line in lines:
        if not 1 <= line.port <= model.lines:
            raise RenderError(
                f"port {line.port} is beyond the {model.lines} lines of the {model.model}"
            )
        if line.port in by_port:
            raise RenderError(f"port {line.port} of the {model.model} has two accounts")
        by_port[line.port] = line
    return by_port


def line_label(line: LineView, caller_id: str | None) -> str:
    """What a line key shows: its extension, and the number outgoing calls present.

    Neither vendor has a per-account "caller ID number" setting: the number presented is
    the SIP user part, which on this service is a generated username the PBX core maps to
    the device's chosen caller ID from its own table. The label only tells the user.
    """
    if caller_id:
        return f"{line.extension} ({caller_id})"
    return line.extension


def with_raw(params: Params, device: DeviceView) -> Params:
    """The device's raw vendor parameters over the computed ones: a name already written gets
    the expert's value in place, a new one is added at the end. Which names an expert may set
    was checked when they were set (the vendor module's ``raw_parameter_problem``)."""
    raw = dict(device.raw_parameters)
    if not raw:
        return params
    replaced = [(name, raw.pop(name, value)) for name, value in params]
    return replaced + list(raw.items())
