"""Kamailio as gateway32's SIP engine: its configuration rendered, its live state pushed over RPC.

The configuration file carries the structure (routes, modules, timers); the values that change
with a new config.json (licence, number map, trunk, cores) live in htables and the dispatcher list,
which :func:`push_state` replaces in the running Kamailio without touching calls in progress.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from gateway32.config import GatewayConfig, Peer, Registration
from gateway32.kamailio_modules import kamailio_modules_dir
from gateway32.rpc import KamailioRPC, RPCError
from gateway32.settings import Settings

CORE_SET = 1  # dispatcher set holding the PBX cores
# uac_reg's flags (Kamailio's uac module, 'uac.reg_info')
_REG_DISABLED, _REG_ONLINE = 1, 4


def gateway_state(config: GatewayConfig) -> dict[str, str | int]:
    """The ``gw`` htable: licence terms and per-gateway values the routing script reads."""
    return {
        "serial": config.licence.serial,
        "tenant": config.tenant,
        "channels": config.licence.channels,
        "not_before": int(config.licence.not_before.timestamp()),
        "expires": int(config.licence.expires.timestamp()),
        "trunk_uri": _next_hop(config).uri,  # where outbound calls go
        # the domain of a registered trunk's account: outbound Request-URIs and From are in it
        "trunk_domain": config.registration.domain if config.registration else "",
        "refusal": config.refusal,
        "max_call": config.max_call_seconds,
        "default_cli": config.default_caller_id,
    }


def _next_hop(config: GatewayConfig) -> Peer:
    registration = config.registration
    if registration and registration.outbound_proxy:
        return registration.outbound_proxy
    return config.trunk


def carrier_table(config: GatewayConfig) -> dict[str, int]:
    """The ``carrier`` htable: ``ip:port`` of every address whose requests are the carrier's."""
    return {f"{peer.host}:{peer.port}": 1 for peer in config.carrier_sources()}


def _kamailio_literal(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    if any(ch in value for ch in '"\\\n\r'):
        raise ValueError(f"{value!r} cannot be written into the Kamailio configuration")
    return f'"{value}"'


_ENV = Environment(
    loader=PackageLoader("gateway32", "templates"),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701 - renders a Kamailio script, not HTML; values are validated
)
_ENV.filters["kamailio_literal"] = _kamailio_literal


def run_dir(settings: Settings) -> Path:
    return settings.state_path / "run"


def modules_dir(settings: Settings) -> str:
    """``GATEWAY32_KAMAILIO_MODULES``, else the directory this machine's Kamailio loads from."""
    directory = settings.kamailio_modules or str(kamailio_modules_dir(settings.kamailio))
    _kamailio_literal(directory)  # refuses a quote or line break before it reaches the file
    return directory.rstrip("/")


def dispatcher_list(config: GatewayConfig) -> str:
    """Dispatcher set 1: the PBX cores, primary with the highest priority."""
    lines = ["# setid destination flags priority attrs (written by gateway32)"]
    for rank, core in enumerate(config.cores):
        lines.append(f"{CORE_SET} {core.uri} 0 {len(config.cores) - rank} duid=core{rank}")
    return "\n".join(lines) + "\n"


def render(settings: Settings, config: GatewayConfig) -> Path:
    """Write kamailio.cfg and dispatcher.list into the run directory; the cfg path."""
    directory = run_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    dispatcher = directory / "dispatcher.list"
    _write_atomic(dispatcher, dispatcher_list(config))
    cfg = _ENV.get_template("kamailio.cfg.j2").render(
        settings=settings,
        config=config,
        licence_state=gateway_state(config),
        carriers=carrier_table(config),
        uacreg_db=_uacreg_db(directory),
        run_dir=directory,
        dispatcher_list=dispatcher,
        modules_dir=modules_dir(settings),
    )
    path = directory / "kamailio.cfg"
    _write_atomic(path, cfg)
    return path


def push_state(
    rpc: KamailioRPC, settings: Settings, old: GatewayConfig, new: GatewayConfig
) -> None:
    """Bring the running Kamailio from ``old`` to ``new``; dialogs in progress stay up.

    New keys are set before old ones are deleted, so a call arriving mid-reload sees either
    the old or the new mapping for its number, never none.
    """
    for key, value in gateway_state(new).items():
        rpc.htable_set("gw", key, value)
    _replace_table(rpc, "did", old.numbers, new.numbers)
    _replace_table(rpc, "cli", old.caller_ids(), new.caller_ids())
    _replace_table(rpc, "carrier", carrier_table(old), carrier_table(new))
    if old.registration != new.registration:
        apply_registration(rpc, settings, old.registration, new.registration)
    render(settings, new)  # the next start begins where this reload ends
    if old.cores != new.cores:
        rpc.call("dispatcher.reload")


def apply_registration(
    rpc: KamailioRPC, settings: Settings, old: Registration | None, new: Registration | None
) -> None:
    """Hand the trunk account to Kamailio's uac_reg, which registers and refreshes it.

    Given over JSON-RPC (never written into kamailio.cfg or a log): after every start of
    Kamailio and when config.json changes the account. An unchanged account is left alone, so
    a reload does not interrupt the registration.
    """
    if old is not None:
        try:
            rpc.call("uac.reg_remove", old.user)
        except RPCError as exc:
            if "not found" not in str(exc).lower():
                raise
    if new is None:
        rpc.htable_set("gw", "auth_user", "")
        rpc.htable_set("gw", "auth_password", "")
        return
    # used by uac_auth() when the carrier challenges an outbound INVITE
    rpc.htable_set("gw", "auth_user", new.auth_user)
    rpc.htable_set("gw", "auth_password", new.password)
    proxy = new.outbound_proxy.uri if new.outbound_proxy else ""
    rpc.call(
        "uac.reg_add", new.user, new.user, new.domain, new.user, new.domain, "",  # realm: any
        new.auth_user, new.password, ".", proxy, new.expires, 0, 0,
        f"udp:{settings.sip}", settings.sip,
    )  # fmt: skip


def registration_state(rpc: KamailioRPC, user: str) -> dict[str, int | bool]:
    """Whether uac_reg holds a live registration of the account ``user``, and for how long.

    Only the flags and the remaining time are kept from Kamailio's answer: it also carries the
    password, which must not reach a status or a log.
    """
    try:
        info = rpc.call("uac.reg_info", "l_uuid", user)
    except RPCError as exc:
        if "not found" in str(exc).lower():
            return {"registered": False, "expires_in": 0, "disabled": False}
        raise
    flags = int(str(info.get("flags", 0))) if isinstance(info, dict) else 0
    remaining = int(str(info.get("diff_expires", 0))) if isinstance(info, dict) else 0
    registered = bool(flags & _REG_ONLINE) and remaining > 0
    return {
        "registered": registered,
        "expires_in": remaining if registered else 0,
        "disabled": bool(flags & _REG_DISABLED),
    }


def _replace_table(
    rpc: KamailioRPC, table: str, old: Mapping[str, str | int], new: Mapping[str, str | int]
) -> None:
    for key, value in new.items():
        if old.get(key) != value:
            rpc.htable_set(table, key, value)
    for key in old.keys() - new.keys():
        rpc.call("htable.delete", table, key)


_UACREG_HEADER = (
    "id(int,auto) l_uuid(string) l_username(string) l_domain(string) r_username(string) "
    "r_domain(string) realm(string) auth_username(string) auth_password(string) "
    "auth_ha1(string) auth_proxy(string) expires(int) flags(int) reg_delay(int) "
    "contact_addr(string) socket(string) \n"
)


def _uacreg_db(directory: Path) -> Path:
    """An empty db_text database for uac_reg: the module needs one to start its registrations;
    the account itself arrives over JSON-RPC (:func:`apply_registration`)."""
    database = directory / "uacreg-db"
    database.mkdir(exist_ok=True)
    _write_atomic(database / "uacreg", _UACREG_HEADER)
    _write_atomic(
        database / "version", "id(int,auto) table_name(string) table_version(int) \n0:uacreg:5\n"
    )
    return database


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
