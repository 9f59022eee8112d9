"""Kamailio as gateway32's SIP engine: its configuration rendered, its live state pushed over RPC.

The configuration file carries the structure (routes, modules, timers); the values that change
with a new config.json (licence, number map, trunk, cores) live in htables and the dispatcher list,
which :func:`push_state` replaces in the running Kamailio without touching calls in progress.
"""

from __future__ import annotations

import os
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from gateway32.config import GatewayConfig
from gateway32.kamailio_modules import kamailio_modules_dir
from gateway32.rpc import KamailioRPC
from gateway32.settings import Settings

CORE_SET = 1  # dispatcher set holding the PBX cores


def gateway_state(config: GatewayConfig) -> dict[str, str | int]:
    """The ``gw`` htable: licence terms and per-gateway values the routing script reads."""
    return {
        "serial": config.licence.serial,
        "tenant": config.tenant,
        "channels": config.licence.channels,
        "not_before": int(config.licence.not_before.timestamp()),
        "expires": int(config.licence.expires.timestamp()),
        "trunk_host": config.trunk.host,
        "trunk_port": config.trunk.port,
        "trunk_uri": config.trunk.uri,
        "refusal": config.refusal,
        "max_call": config.max_call_seconds,
        "default_cli": config.default_caller_id,
    }


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
    render(settings, new)  # the next start begins where this reload ends
    if old.cores != new.cores:
        rpc.call("dispatcher.reload")


def _replace_table(rpc: KamailioRPC, table: str, old: dict[str, str], new: dict[str, str]) -> None:
    for key, value in new.items():
        if old.get(key) != value:
            rpc.htable_set(table, key, value)
    for key in old.keys() - new.keys():
        rpc.call("htable.delete", table, key)


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
