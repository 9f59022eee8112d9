"""A Panasonic phone's files: its bootstrap ``<MODEL>.cfg`` and its own ``Config<MAC>.cfg``.

Sources: the Panasonic administrator guides, wazo-provd and the FusionPBX/SARK samples, as
collected in ``docs/vendors.md`` section 2.

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
"""

from __future__ import annotations

from provisioner.vendors.base import (
    DeviceView,
    FileKind,
    FileRequest,
    FirmwareOffer,
    LineView,
    ProvisioningContext,
    TemplatePlan,
)
from provisioner.vendors.common import (
    RESYNC_EVENT,
    Params,
    firmware_url,
    line_label,
    lines_by_port,
    require_requested_device,
    resync_time,
)
from provisioner.vendors.panasonic.models import NAME
from provisioner.vendors.panasonic.parameters import checked

TEMPLATE = "panasonic/config.cfg.j2"
CONTENT_TYPE = "text/plain; charset=utf-8"


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
        ("CFG_RESYNC_FROM_SIP", RESYNC_EVENT),  # Event header of the PBX's resync NOTIFY
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


def plan(
    request: FileRequest, device: DeviceView | None, ctx: ProvisioningContext
) -> TemplatePlan | None:
    """The bootstrap and per-device files; ``ConfigCommon.cfg`` is not served (404)."""
    if request.kind is FileKind.BOOTSTRAP:
        params = checked(_bootstrap(ctx))
    elif request.kind is FileKind.DEVICE and device is not None:
        require_requested_device(NAME, request, device)
        params = checked(_device(device, ctx))
    else:
        return None
    return TemplatePlan(TEMPLATE, params, CONTENT_TYPE, crlf=True)
