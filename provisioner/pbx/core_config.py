"""The PBX core's ``kamailio.cfg``, rendered from ``templates/pbx/kamailio.cfg.j2``.

Every value placed in the file is checked first: a quote or line break in a path or realm
would otherwise rewrite the configuration.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

from gateway32.kamailio_modules import ModulesNotFound, kamailio_modules_dir
from provisioner.pbx.directory import GLOBAL_DOMAIN, tenant_domain
from provisioner.rendering import render_template

TEMPLATE = "pbx/kamailio.cfg.j2"
_REALM = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?")
_PATH = re.compile(r"[A-Za-z0-9_./+-]{1,1024}")


class CoreConfigError(ValueError):
    """A value cannot be placed in the core's configuration (names it)."""


@dataclass(frozen=True)
class Peer:
    host: str  # an IP address: Kamailio compares the source address with it
    port: int
    tenant: str | None = None  # a gateway's tenant: its phones' outside calls go out there


@dataclass(frozen=True)
class CoreSettings:
    listen: Peer
    realm: str
    db_path: Path
    run_dir: Path
    gateways: tuple[Peer, ...] = field(default=())
    children: int = 4
    max_expires: int = 3600
    min_expires: int = 60  # Kamailio's default: a phone asking for less gets this
    debug: int = 1
    modules_dir: Path | None = None  # Kamailio's modules; None: asked of this machine's kamailio
    # Where the provisioner reads registrations (JSON-RPC ``ul.dump`` over HTTP on TCP), and
    # the addresses allowed to ask; None: no reader socket (see docs/architecture.md, "PBX core").
    rpc: Peer | None = None
    rpc_readers: tuple[str, ...] = ("127.0.0.1",)


def peer(text: str, label: str) -> Peer:
    """``IP:PORT`` (IPv6 in brackets), for a gateway optionally ``=TENANT``, as a :class:`Peer`."""
    text, _, tenant = text.partition("=")
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise CoreConfigError(f"{label} {text!r} must be IP:PORT") from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise CoreConfigError(f"{label} {text!r} needs a port 1-65535")
    return Peer(str(address), int(port), tenant or None)


def _path(path: Path, label: str) -> str:
    text = str(path.resolve())
    if not _PATH.fullmatch(text):
        raise CoreConfigError(f"{label} {text!r}: use letters, digits and _ . / + - only")
    return text


def _modules_dir(settings: CoreSettings) -> Path:
    """The directory given, else the one this machine's Kamailio loads its modules from."""
    if settings.modules_dir is not None:
        return settings.modules_dir
    try:
        return kamailio_modules_dir()
    except ModulesNotFound as exc:
        raise CoreConfigError(str(exc)) from exc


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def render_core_config(settings: CoreSettings) -> str:
    if not _REALM.fullmatch(settings.realm):
        raise CoreConfigError(f"realm {settings.realm!r} must be a host name or address")
    readers = []
    for reader in settings.rpc_readers:
        try:
            readers.append(str(ipaddress.ip_address(reader)))
        except ValueError:
            raise CoreConfigError(f"registration reader {reader!r} must be an IP address") from None
    return render_template(
        TEMPLATE,
        listen_host=_bracketed(settings.listen.host),
        listen_port=settings.listen.port,
        rpc_host=_bracketed(settings.rpc.host) if settings.rpc else None,
        rpc_port=settings.rpc.port if settings.rpc else None,
        rpc_readers=readers,
        realm=settings.realm,
        db_path=_path(settings.db_path, "database"),
        run_dir=_path(settings.run_dir, "run directory"),
        modules_dir=_path(_modules_dir(settings), "modules directory"),
        gateways=[
            {
                "host": gw.host,
                "port": gw.port,
                "uri": f"sip:[{gw.host}]:{gw.port}"
                if ":" in gw.host
                else f"sip:{gw.host}:{gw.port}",
                "tenant_domain": tenant_domain(gw.tenant) if gw.tenant else None,
            }
            for gw in settings.gateways
        ],
        global_domain=GLOBAL_DOMAIN,
        children=settings.children,
        max_expires=settings.max_expires,
        min_expires=settings.min_expires,
        debug=settings.debug,
    )
