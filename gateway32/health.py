"""What the running gateway reports about itself: licence, channels, cores (status and metrics).

Read from the supervisor's status file (the licence in force, a refused new one) and from
Kamailio over JSON-RPC (channels in use, dispatcher state of each core), so it shows what the
engine really does, not what the configuration says it should.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TypedDict

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from gateway32.kamailio import registration_state
from gateway32.rpc import KamailioRPC, RPCError
from gateway32.settings import Settings
from gateway32.supervisor import last_registration_error, status_file


class NotRunning(RuntimeError):
    """No gateway (or no Kamailio) answers for this state directory."""


class CoreState(TypedDict):
    """One PBX core as Kamailio's dispatcher sees it (``up``: flags start with A, active)."""

    uri: str
    up: bool
    flags: str


class TrunkState(TypedDict):
    """The carrier side: ``mode`` "ip" (trusted by address) or "registration"."""

    mode: str
    user: str | None
    registrar: str | None
    registered: bool | None  # None in "ip" mode: nothing to register
    expires_in: int  # seconds the registration still holds
    last_error: str | None  # the last refusal, while not registered


class HealthReport(TypedDict):
    """What ``status --json`` prints: its keys are an interface to monitoring scripts."""

    licence: dict[str, str | int]  # Licence.terms(), as the supervisor wrote it
    licence_expired: bool
    licence_refused: str | None
    channels_in_use: int
    channels: int
    cores: list[CoreState]
    cores_up: int
    trunk: TrunkState


def gather(settings: Settings) -> HealthReport:
    try:
        state = json.loads(status_file(settings).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise NotRunning(f"gateway32 is not running in {settings.state_dir}") from exc
    rpc = KamailioRPC(settings.rpc_socket)
    try:
        channels = rpc.channels_in_use()
        cores = [
            CoreState(uri=core["uri"], up=core["flags"].startswith("A"), flags=core["flags"])
            for core in rpc.cores()
        ]
        trunk = _trunk(settings, rpc, state.get("registration"))
    except RPCError as exc:
        raise NotRunning(f"Kamailio does not answer: {exc}") from exc
    licence = state["licence"]
    expires = dt.datetime.fromisoformat(licence["expires"])
    return {
        "licence": licence,
        "licence_expired": expires <= dt.datetime.now(dt.UTC),
        "licence_refused": state["refused"],
        "channels_in_use": channels,
        "channels": licence["channels"],
        "cores": cores,
        "cores_up": sum(core["up"] for core in cores),
        "trunk": trunk,
    }


def _trunk(settings: Settings, rpc: KamailioRPC, account: dict[str, str] | None) -> TrunkState:
    if account is None:
        return TrunkState(mode="ip", user=None, registrar=None, registered=None, expires_in=0,
                          last_error=None)  # fmt: skip
    live = registration_state(rpc, account["user"])
    error = None if live["registered"] else last_registration_error(settings)
    return TrunkState(
        mode="registration", user=account["user"], registrar=account["registrar"],
        registered=bool(live["registered"]), expires_in=int(str(live["expires_in"])),
        last_error=error,
    )  # fmt: skip


def prometheus_text(report: HealthReport) -> bytes:
    """The report in Prometheus' text format (for a textfile collector or a scrape wrapper)."""
    registry = CollectorRegistry()
    licence = report["licence"]
    Gauge("gateway32_channels_in_use", "Calls holding a licence channel", registry=registry).set(
        report["channels_in_use"]
    )
    Gauge("gateway32_channels_licensed", "Channels the licence allows", registry=registry).set(
        report["channels"]
    )
    Gauge(
        "gateway32_licence_expiry_timestamp_seconds", "When the licence ends", registry=registry
    ).set(dt.datetime.fromisoformat(str(licence["expires"])).timestamp())
    Gauge(
        "gateway32_licence_refused", "1 if the last new configuration was refused",
        registry=registry,
    ).set(1 if report["licence_refused"] else 0)  # fmt: skip
    trunk = report["trunk"]
    if trunk["registered"] is not None:  # only a trunk that wants registration can lack one
        Gauge(
            "gateway32_trunk_registered", "1 while the carrier holds our registration (alert on 0)",
            registry=registry,
        ).set(1 if trunk["registered"] else 0)  # fmt: skip
    up = Gauge("gateway32_core_up", "PBX core health (OPTIONS)", ["uri"], registry=registry)
    for core in report["cores"]:
        up.labels(uri=core["uri"]).set(1 if core["up"] else 0)
    return generate_latest(registry)
