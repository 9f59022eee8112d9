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

from gateway32.rpc import KamailioRPC, RPCError
from gateway32.settings import Settings
from gateway32.supervisor import status_file


class NotRunning(RuntimeError):
    """No gateway (or no Kamailio) answers for this state directory."""


class CoreState(TypedDict):
    """One PBX core as Kamailio's dispatcher sees it (``up``: flags start with A, active)."""

    uri: str
    up: bool
    flags: str


class HealthReport(TypedDict):
    """What ``status --json`` prints: its keys are an interface to monitoring scripts."""

    licence: dict[str, str | int]  # Licence.terms(), as the supervisor wrote it
    licence_expired: bool
    licence_refused: str | None
    channels_in_use: int
    channels: int
    cores: list[CoreState]
    cores_up: int


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
    }


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
    up = Gauge("gateway32_core_up", "PBX core health (OPTIONS)", ["uri"], registry=registry)
    for core in report["cores"]:
        up.labels(uri=core["uri"]).set(1 if core["up"] else 0)
    return generate_latest(registry)
