"""A Panasonic phone's files: its bootstrap ``<MODEL>.cfg`` and its own ``Config<MAC>.cfg``.

Sources: the Panasonic administrator guides, Panasonic's sample files (as shipped by
FusionPBX) and wazo-provd, collected in ``docs/vendors.md`` section 2; every name and value is
checked against :mod:`.catalogue`, which names the source of each.

Decisions taken where the sources are unclear:

* ``PHONE_NUMBER_n`` is the SIP username: it is the user part of From/To/REGISTER, which the
  PBX core knows the account by (never the direct number).
* Provisioning credentials: the guides document one way, ``user:password@`` in the file's URL
  (KX-HDV100 guide §2.1, "Case 3"); no HTTP-authentication parameter of these models was
  found (the ``HTTP_AUTH_ID``/``HTTP_AUTH_PASSWORD`` written before were never documented).
  So the bench file sets ``CFG_STANDARD_FILE_PATH`` with the device's credentials in it, and a
  file without credentials (the field variant) leaves ``CFG_STANDARD_FILE_PATH`` out: a
  parameter a file does not name keeps its value on the phone ("Only change parameters as
  necessary", format chapter), so the phone keeps the URL with its credentials. The risk of
  a password inside a URL is in ``docs/security.md``.
* No line label: ``LINE_ID_n`` is documented only for the KX-TGP500 (its sample), not for
  these models, so the caller ID is not shown on the phone; the PBX core presents it.
* ``LINE_ENABLE_n`` is documented for UT670/TGP5xx only, not for these models: a line is
  in use when it has a registrar; unused lines are written empty so a re-used device keeps
  no credentials of its previous owner.
* KX-TGP600 uses the HDV/UT header line: no KX-TGP600 sample or guide page with a header was
  found (INFERRED; the KX-TGP500's "# PCC Standard Format File #" is an older product's).
* Behind NAT and across cores (docs/vendors.md §7): each line in use sends a keep-alive
  every ``nat_keepalive`` seconds (``PORT_PUNCH_INTVL_n``; 0 in Panasonic's samples = off),
  asks for symmetric responses (``SIP_ADD_RPORT_n="Y"``; "N" in the samples), names the
  failover core as its second registrar and proxy (``SIP_2NDRGSTR_*``, ``SIP_2NDPROXY_*``;
  written empty without one, so a re-used phone forgets an old one) and, in SRV mode, looks
  the core up by ``_sip._udp.`` SRV records (``SIP_DNSSRV_ENA_n``, ``SIP_UDP_SRV_PREFIX_n``).
* The Japanese value of ``DEFAULT_LANGUAGE`` is not documented for these models; it is not
  written and no model claims a Japanese display.
"""

from __future__ import annotations

import re

from provisioner.vendors.base import (
    DeviceView,
    FileKind,
    FileRequest,
    FirmwareOffer,
    LineView,
    ProvisioningContext,
    ProvisioningCredentials,
    RenderError,
    TemplatePlan,
)
from provisioner.vendors.common import (
    RESYNC_EVENT,
    Params,
    firmware_url,
    lines_by_port,
    registration_expiry,
    require_requested_device,
    resync_time,
    with_raw,
)
from provisioner.vendors.panasonic import catalogue
from provisioner.vendors.panasonic.keys import key_params
from provisioner.vendors.panasonic.models import MODELS, NAME
from provisioner.vendors.panasonic.parameters import checked
from provisioner.vendors.panasonic.phonebook import phonebook_params
from provisioner.vendors.panasonic.settings import setting_params

TEMPLATE = "panasonic/config.cfg.j2"
CONTENT_TYPE = "text/plain; charset=utf-8"
_URL_SAFE = re.compile(r"[A-Za-z0-9._~-]+")


def _base(ctx: ProvisioningContext, creds: ProvisioningCredentials | None = None) -> str:
    """Our HTTP front door; with ``creds``, as ``scheme://user:password@host/...`` (the guides'
    way, see above). Only characters that need no percent-encoding are accepted, since whether
    the phone decodes one is not documented."""
    base = ctx.http_base
    if creds is not None:
        for label, part in (("user", creds.http_user), ("password", creds.http_password)):
            if not _URL_SAFE.fullmatch(part):
                raise RenderError(
                    f"CFG_STANDARD_FILE_PATH: the HTTP {label} has characters a URL cannot "
                    "carry unencoded (A-Z, a-z, 0-9, . _ ~ - only); issue new credentials"
                )
        scheme, _, rest = base.partition("://")
        base = f"{scheme}://{creds.http_user}:{creds.http_password}@{rest}"
    return base


def _standard_file_path(
    ctx: ProvisioningContext, creds: ProvisioningCredentials | None = None
) -> str:
    """The device's own file; the phone expands {MAC} (upper case) itself, we answer both cases."""
    return f"{_base(ctx, creds)}/Config{{MAC}}.cfg"


def _bootstrap(ctx: ProvisioningContext) -> Params:
    """``<MODEL>.cfg``: no secrets, only where the device's own file is and Japan basics."""
    return [("CFG_STANDARD_FILE_PATH", _standard_file_path(ctx)), *setting_params(None, ctx)]


def _line(n: int, line: LineView | None, ctx: ProvisioningContext, expiry: int) -> Params:
    if line is None:
        cleared = ("PHONE_NUMBER", "DISPLAY_NAME", "SIP_AUTHID", "SIP_PASS", "SIP_RGSTR_ADDR",
                   "SIP_PRXY_ADDR", "SIP_2NDRGSTR_ADDR", "SIP_2NDPROXY_ADDR")  # fmt: skip
        return [(f"{name}_{n}", "") for name in cleared]
    return [
        (f"PHONE_NUMBER_{n}", line.sip_username),
        (f"DISPLAY_NAME_{n}", line.display_name),
        (f"SIP_AUTHID_{n}", line.sip_username),
        (f"SIP_PASS_{n}", line.sip_password),
        (f"SIP_RGSTR_ADDR_{n}", ctx.pbx_host),
        (f"SIP_RGSTR_PORT_{n}", str(ctx.pbx_port)),
        (f"SIP_PRXY_ADDR_{n}", ctx.pbx_host),
        (f"SIP_PRXY_PORT_{n}", str(ctx.pbx_port)),
        *_failover(n, ctx),
        (f"REG_EXPIRE_TIME_{n}", str(expiry)),
        # A distinct local port per line (FusionPBX's UT133 sample: 5060, 5070, 5080, 5090).
        (f"SIP_SRC_PORT_{n}", str(5060 + 10 * (n - 1))),
        (f"SIP_ADD_RPORT_{n}", "Y"),
        (f"PORT_PUNCH_INTVL_{n}", str(ctx.nat_keepalive)),
    ]


def _failover(n: int, ctx: ProvisioningContext) -> Params:
    """The second registrar and proxy (the failover core), and DNS SRV mode."""
    backup_host, backup_port = ctx.pbx_backup or ("", ctx.pbx_port)
    if ctx.pbx_srv:
        backup_host, backup_port = "", ctx.pbx_port  # DNS names them all
    params: Params = [
        (f"SIP_2NDRGSTR_ADDR_{n}", backup_host),
        (f"SIP_2NDRGSTR_PORT_{n}", str(backup_port)),
        (f"SIP_2NDPROXY_ADDR_{n}", backup_host),
        (f"SIP_2NDPROXY_PORT_{n}", str(backup_port)),
        (f"SIP_DNSSRV_ENA_{n}", "Y" if ctx.pbx_srv else "N"),
    ]
    if ctx.pbx_srv:
        params.append((f"SIP_UDP_SRV_PREFIX_{n}", "_sip._udp."))
    return params


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


def _own_urls(device: DeviceView, ctx: ProvisioningContext) -> Params:
    """The bench variant points the phone at its file and its phonebook with its credentials;
    the field variant (no credentials) says nothing, so the phone keeps those URLs."""
    creds = device.credentials
    if creds is None:
        return []
    return [
        ("CFG_STANDARD_FILE_PATH", _standard_file_path(ctx, creds)),
        *phonebook_params(device, _base(ctx, creds)),
    ]


def _device(device: DeviceView, ctx: ProvisioningContext) -> Params:
    hour, minute = resync_time(device.mac, ctx.resync_window)
    params: Params = [
        ("ADMIN_ID", "admin"),
        ("ADMIN_PASS", device.admin_password),
        *setting_params(device, ctx),
        ("PROVISION_ENABLE", "Y"),
        *_own_urls(device, ctx),
        ("CFG_CYCLIC", "Y"),
        ("CFG_CYCLIC_INTVL", "1440"),  # minutes
        ("CFG_RTRY_INTVL", "30"),  # minutes
        # Daily at a time of its own in the window (overrides the interval when set).
        ("CFG_RESYNC_TIME", f"{hour:02d}:{minute:02d}"),
        ("CFG_RESYNC_FROM_SIP", RESYNC_EVENT),  # Event header of the PBX's resync NOTIFY
        *_firmware(device.firmware, ctx),
    ]
    by_port = lines_by_port(device.lines, device.model)
    for n in range(1, device.model.lines + 1):
        params += _line(n, by_port.get(n), ctx, registration_expiry(device, ctx))
    return params + key_params(device)


def plan(
    request: FileRequest, device: DeviceView | None, ctx: ProvisioningContext
) -> TemplatePlan | None:
    """The bootstrap and per-device files; ``ConfigCommon.cfg`` is not served (404)."""
    if request.kind is FileKind.BOOTSTRAP and request.model is not None:
        model = MODELS[request.model]  # match_file named a known model
        params = checked(_bootstrap(ctx))
    elif request.kind is FileKind.DEVICE and device is not None:
        require_requested_device(NAME, request, device)
        model = device.model
        params = checked(with_raw(_device(device, ctx), device))
    else:
        return None
    catalogue.check(params, model)
    return TemplatePlan(TEMPLATE, params, CONTENT_TYPE, crlf=True)
