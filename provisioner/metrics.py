"""Prometheus metrics for the front doors, added up across processes.

``provisioner serve`` runs TFTP in the parent and HTTP in spawned granian workers; whichever of
them scrapes must report all of them. prometheus_client's multiprocess mode does that through
files in ``PROMETHEUS_MULTIPROC_DIR``, but it picks file or memory storage once, when it is first
imported in a process. So this module imports it only inside functions, and ``serve`` calls
``prepare_multiprocess_dir()`` before anything does; spawned workers inherit the variable.

Labels come from fixed vocabularies, never from a request: a scrape must not tell which MACs
or file names exist, and one label value per MAC would grow without bound.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PROTOCOLS = frozenset({"http", "https", "tftp", "cli"})
OUTCOMES = frozenset({"served", "not_found", "forbidden", "unauthorized", "locked", "failed"})
REASONS = frozenset(
    {
        "unknown_file",
        "unknown_device",
        "not_served",
        "bad_credentials",
        "no_credentials",
        "locked_out",
        "wrong_network",
        "user_agent_mismatch",
        "rate_limited",
    }
)
OTHER = "other"
# Renders take milliseconds; the default buckets start at 5 ms and would lump them together.
RENDER_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# A switch poll takes 50-200 ms when it answers, the timeout and retries when it does not.
POLL_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
POE_OUTCOMES = frozenset({"ok", "unreachable", "failed"})
# Orders ship within two business days: from an hour (an order staged the morning it came)
# to a long holiday weekend and beyond.
ORDER_BUCKETS = tuple(h * 3600.0 for h in (1, 4, 8, 24, 48, 72, 96, 120, 168, 336))
FLEET_STATES = frozenset({"current", "behind", "never_fetched"})


def prepare_multiprocess_dir(base: Path | None = None) -> Path:
    """Point this process and the workers it spawns at an empty metrics directory.

    `base`, else an operator's ``PROMETHEUS_MULTIPROC_DIR``, else a new temporary directory
    (removed when this process exits: two servers on one machine must not share counts).
    Files left by an earlier run are deleted: their counts would be added to this run's.
    """
    if base is None and os.environ.get(MULTIPROC_ENV):
        base = Path(os.environ[MULTIPROC_ENV])
    if base is None:
        directory = Path(tempfile.mkdtemp(prefix="provisioner-metrics-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
    else:
        directory = base
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    if "prometheus_client" in sys.modules and os.environ.get(MULTIPROC_ENV) != str(directory):
        log.warning(
            "prometheus_client was imported before the metrics directory was set: "
            "this process's counts will be missing from /metrics"
        )
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


@dataclass(frozen=True)
class _Metrics:
    fetches: Counter
    refusals: Counter
    lockouts: Counter
    render_seconds: Histogram
    poe_poll_seconds: Histogram
    poe_power_watts: Gauge
    poe_budget_watts: Gauge
    poe_ports: Gauge
    poe_alerts: Gauge
    orders: Gauge
    orders_late: Gauge
    order_ship_seconds: Histogram
    timeline_events: Gauge
    timeline_oldest: Gauge
    timeline_purged: Counter
    fleet_devices: Gauge
    registrations: Gauge
    representative_calls: Gauge


_made: list[_Metrics] = []
_making = threading.Lock()


def _metrics() -> _Metrics:
    """Created on first use, so that prometheus_client is imported after the env is set.

    Under a lock: the first requests arrive on several threads at once, and a metric
    registered twice is an error.
    """
    if _made:
        return _made[0]
    with _making:
        if not _made:
            _made.append(_make_metrics())
    return _made[0]


def _make_metrics() -> _Metrics:
    from prometheus_client import Counter, Gauge, Histogram

    return _Metrics(
        fetches=Counter(
            "provisioner_fetches",
            "Device file requests by protocol and outcome.",
            ["protocol", "outcome"],
        ),
        refusals=Counter(
            "provisioner_refusals",
            "Refused device file requests by protocol and reason.",
            ["protocol", "reason"],
        ),
        lockouts=Counter(
            "provisioner_lockouts", "Sources locked out after failed logins.", ["protocol"]
        ),
        render_seconds=Histogram(
            "provisioner_render_seconds",
            "Time to render one config file (cache misses only).",
            buckets=RENDER_BUCKETS,
        ),
        # PoE (issue 5): labelled by switch name, which the inventory's admins choose (one per
        # switch, never from a request); set by the poller, the most recent value wins.
        poe_poll_seconds=Histogram(
            "provisioner_poe_poll_seconds",
            "Time to poll one PoE switch, by outcome.",
            ["outcome"],
            buckets=POLL_BUCKETS,
        ),
        poe_power_watts=Gauge(
            "provisioner_poe_power_watts",
            "Power drawn by a PoE switch's PSE (RFC 3621, whole watts).",
            ["switch", "pse"],
            multiprocess_mode="mostrecent",
        ),
        poe_budget_watts=Gauge(
            "provisioner_poe_budget_watts",
            "Nominal power of a PoE switch's PSE (whole watts).",
            ["switch", "pse"],
            multiprocess_mode="mostrecent",
        ),
        poe_ports=Gauge(
            "provisioner_poe_ports",
            "PoE ports by detection status (deliveringPower, searching, fault, ...).",
            ["switch", "status"],
            multiprocess_mode="mostrecent",
        ),
        poe_alerts=Gauge(
            "provisioner_poe_alerts",
            "Active PoE alerts by kind.",
            ["kind"],
            multiprocess_mode="mostrecent",
        ),
        # Orders (issue 18): counted from the database at each scrape, so every process agrees.
        orders=Gauge(
            "provisioner_orders",
            "Warehouse orders by status.",
            ["status"],
            multiprocess_mode="mostrecent",
        ),
        orders_late=Gauge(
            "provisioner_orders_late",
            "Open orders past their due time (an alert when above 0).",
            multiprocess_mode="mostrecent",
        ),
        order_ship_seconds=Histogram(
            "provisioner_order_ship_seconds",
            "Time from an order's receipt to its shipment.",
            buckets=ORDER_BUCKETS,
        ),
        # Operations (issue 20): set by serve's maintenance thread, one process.
        timeline_events=Gauge(
            "provisioner_timeline_events",
            "Events in the device timelines.",
            multiprocess_mode="mostrecent",
        ),
        timeline_oldest=Gauge(
            "provisioner_timeline_oldest_event_timestamp_seconds",
            "When the oldest timeline event happened (Unix time; 0 for none).",
            multiprocess_mode="mostrecent",
        ),
        timeline_purged=Counter(
            "provisioner_timeline_purged", "Timeline events deleted by the retention purge."
        ),
        fleet_devices=Gauge(
            "provisioner_fleet_devices",
            "Devices by convergence state (current, behind, never_fetched), fleet-wide.",
            ["state"],
            multiprocess_mode="mostrecent",
        ),
        # Registrations (issue 13): labelled by tenant name (chosen by the inventory's admins),
        # state registered, unregistered or line_unregistered (alerts); set by the poller.
        registrations=Gauge(
            "provisioner_registration_lines",
            "Lines by tenant and registration state read from the PBX cores, and active alerts.",
            ["tenant", "state"],
            multiprocess_mode="mostrecent",
        ),
        # Issue 14: a representative number carries at most the tenant's ID count at once.
        representative_calls=Gauge(
            "provisioner_representative_calls",
            "Calls in progress on each tenant's representative numbers, all PBX cores together.",
            ["tenant"],
            multiprocess_mode="mostrecent",
        ),
    )


def _label(value: str, allowed: frozenset[str]) -> str:
    """A value outside the vocabulary becomes "other": a bug must not leak or explode labels."""
    if value in allowed:
        return value
    log.warning("metrics label %r is not in the vocabulary; counted as %r", value[:40], OTHER)
    return OTHER


# Labelled children of the per-request counters, by the label values asked for: labels()
# costs a lock and a tuple per request. Only values of the vocabularies are kept (never more
# entries than their product); anything else takes labels()'s path and becomes "other".
_children: dict[tuple[str, ...], Counter] = {}


def _child(parent: Callable[[_Metrics], Counter], *labels: tuple[str, frozenset[str]]) -> Counter:
    """The child counter for these (value, vocabulary) pairs, kept if every value is known."""
    child = parent(_metrics()).labels(*(_label(value, allowed) for value, allowed in labels))
    if all(value in allowed for value, allowed in labels):
        _children[(parent.__name__, *(value for value, _ in labels))] = child
    return child


def _fetches(metrics: _Metrics) -> Counter:
    return metrics.fetches


def _refusals(metrics: _Metrics) -> Counter:
    return metrics.refusals


def _lockouts(metrics: _Metrics) -> Counter:
    return metrics.lockouts


def count_fetch(protocol: str, outcome: str) -> None:
    child = _children.get(("_fetches", protocol, outcome))
    if child is None:
        child = _child(_fetches, (protocol, PROTOCOLS), (outcome, OUTCOMES))
    child.inc()


def count_refusal(protocol: str, reason: str) -> None:
    child = _children.get(("_refusals", protocol, reason))
    if child is None:
        child = _child(_refusals, (protocol, PROTOCOLS), (reason, REASONS))
    child.inc()


def count_lockout(protocol: str) -> None:
    child = _children.get(("_lockouts", protocol))
    if child is None:
        child = _child(_lockouts, (protocol, PROTOCOLS))
    child.inc()


def observe_render(seconds: float) -> None:
    _metrics().render_seconds.observe(seconds)


def observe_poe_poll(seconds: float, outcome: str) -> None:
    _metrics().poe_poll_seconds.labels(_label(outcome, POE_OUTCOMES)).observe(seconds)


def set_poe_switch(
    switch: str, pse: dict[int, tuple[int | None, int | None]], ports: dict[str, int]
) -> None:
    """One switch's latest poll: per PSE (consumption W, budget W), port counts by status."""
    metrics = _metrics()
    for group, (used, budget) in pse.items():
        if used is not None:
            metrics.poe_power_watts.labels(switch, str(group)).set(used)
        if budget is not None:
            metrics.poe_budget_watts.labels(switch, str(group)).set(budget)
    for status, count in ports.items():
        metrics.poe_ports.labels(switch, status).set(count)


def set_poe_alerts(counts: dict[str, int]) -> None:
    for kind, count in counts.items():
        _metrics().poe_alerts.labels(kind).set(count)


def set_orders(counts: dict[str, int], late: int) -> None:
    """The orders by status and the late ones, as the database holds them now."""
    metrics = _metrics()
    for status, count in counts.items():
        metrics.orders.labels(status).set(count)
    metrics.orders_late.set(late)


def observe_order_shipped(seconds: float) -> None:
    _metrics().order_ship_seconds.observe(max(0.0, seconds))


def set_timeline(events: int, oldest: float | None, purged: int) -> None:
    """After a retention pass: the timeline's size, its oldest event, what the pass deleted."""
    metrics = _metrics()
    metrics.timeline_events.set(events)
    metrics.timeline_oldest.set(oldest or 0)
    metrics.timeline_purged.inc(purged)


def set_fleet(counts: dict[str, int]) -> None:
    for state, count in counts.items():
        _metrics().fleet_devices.labels(_label(state, FLEET_STATES)).set(count)


def exposition() -> bytes:
    """The text format for a scrape: every process's files in multiprocess mode, else ours."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    _metrics()  # registers them: a scrape before the first request is not empty
    if not os.environ.get(MULTIPROC_ENV):
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    # prometheus_client leaves this constructor unannotated (it registers itself, returns None).
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def set_registrations(counts: dict[tuple[str, str], int]) -> None:
    for (tenant, state), count in counts.items():
        _metrics().registrations.labels(tenant, state).set(count)


def set_representative_calls(counts: Mapping[str, int]) -> None:
    for tenant, count in counts.items():
        _metrics().representative_calls.labels(tenant).set(count)
