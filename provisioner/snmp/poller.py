"""The PoE poller: polls switches when they are due and carries power-cycles to their end.

One asyncio loop with one SNMP engine: ``provisioner poe poll`` runs it once, ``serve`` runs it
in a thread of its parent process (see README, "PoE"). Database work happens between SNMP
exchanges, in short units of work; a poll never holds a transaction open while it waits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select

from provisioner import metrics
from provisioner.db.models import utcnow
from provisioner.db.poe import PoeCycle, PoeSwitch
from provisioner.db.session import Database
from provisioner.domain.background import BackgroundThread
from provisioner.domain.poe import alerts as poe_alerts
from provisioner.domain.poe import cycles as poe_cycles
from provisioner.domain.poe.cycles import CycleState
from provisioner.domain.poe.ingest import record_failure, record_reading
from provisioner.domain.poe.switches import SnmpAccess, access
from provisioner.secretbox import SecretBox
from provisioner.snmp.client import Agent, Credentials, SnmpClient
from provisioner.snmp.errors import SnmpError, SnmpTimeout
from provisioner.snmp.profiles import profile
from provisioner.snmp.snapshot import DELIVERING_POWER, PETH_DETECTION, read_switch

log = logging.getLogger(__name__)

WATCH_SECONDS = 60.0  # after "on", how long a device may take to draw power again
RETRY_SECONDS = 2.0  # between attempts to restore power to a port that is off
SET_OFF_ATTEMPTS = 3


@dataclass(frozen=True)
class PollResult:
    switch: str
    ok: bool
    seconds: float
    ports: int = 0
    varbinds: int = 0
    error: str | None = None
    events: list[str] = field(default_factory=list)


def agent_for(snmp: SnmpAccess, timeout: float, retries: int) -> Agent:
    credentials = Credentials(
        snmp.version, snmp.community, snmp.user, snmp.auth_key, snmp.priv_key, snmp.context
    )
    return Agent(snmp.host, snmp.port, credentials, timeout, retries)


class PoePoller:
    """Create and use inside one event loop (the SNMP engine binds to it)."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        *,
        timeout: float = 2.0,
        retries: int = 1,
        concurrency: int = 16,
        watch_seconds: float = WATCH_SECONDS,
        check_every: float = 0.5,
    ) -> None:
        self.db, self.box = db, box
        self.timeout, self.retries = timeout, retries
        self.watch_seconds, self.check_every = watch_seconds, check_every
        self.owner = poe_cycles.lease_owner()
        self.client = SnmpClient()
        self._switches = asyncio.Semaphore(concurrency)

    def close(self) -> None:
        self.client.close()

    # -- polling -------------------------------------------------------------------------
    async def poll(self, names: list[str] | None = None) -> list[PollResult]:
        with self.db.session() as session:
            query = select(PoeSwitch.id).order_by(PoeSwitch.name)
            if names:
                query = query.where(PoeSwitch.name.in_(names))
            ids = list(session.scalars(query))
        return list(await asyncio.gather(*(self.poll_switch(i) for i in ids)))

    async def poll_switch(self, switch_id: int) -> PollResult:
        with self.db.session() as session:
            switch = session.get(PoeSwitch, switch_id)
            if switch is None:
                return PollResult("?", False, 0.0, error="removed")
            name, vendor, port_map = switch.name, profile(switch.vendor), dict(switch.port_map)
            agent = agent_for(access(self.box, switch), self.timeout, self.retries)
        started = time.perf_counter()
        async with self._switches:
            try:
                reading = await read_switch(self.client, agent, vendor, port_map)
            except SnmpError as exc:
                return self._failed(switch_id, name, exc, time.perf_counter() - started)
        with self.db.session() as session:
            switch = session.get(PoeSwitch, switch_id)
            if switch is None:
                return PollResult(name, False, reading.seconds, error="removed")
            moves = record_reading(session, switch, reading)
            raised, _ = poe_alerts.reconcile(session, switch, poe_alerts.findings(session, switch))
            statuses = Counter(port.detection for port in reading.ports)
        self._count_alerts()
        metrics.observe_poe_poll(reading.seconds, "ok")
        metrics.set_poe_switch(
            name, {p.group: (p.consumption_w, p.budget_w) for p in reading.pse}, dict(statuses)
        )
        events = [f"{m.mac}: {m.detail}" for m in moves]
        events += [f"alert {a.kind}: {a.subject}: {a.detail}" for a in raised]
        for event in events:
            log.info("%s: %s", name, event)
        return PollResult(
            name, True, reading.seconds, len(reading.ports), reading.varbinds, events=events
        )

    def _failed(self, switch_id: int, name: str, exc: SnmpError, seconds: float) -> PollResult:
        error = str(exc)
        with self.db.session() as session:
            switch = session.get(PoeSwitch, switch_id)
            if switch is not None:
                record_failure(switch, error)
                if isinstance(exc, SnmpTimeout):
                    finding = [poe_alerts.unreachable(switch, error)]
                    poe_alerts.reconcile(
                        session, switch, finding, (poe_alerts.AlertKind.SWITCH_UNREACHABLE,)
                    )
        self._count_alerts()
        outcome = "unreachable" if isinstance(exc, SnmpTimeout) else "failed"
        metrics.observe_poe_poll(seconds, outcome)
        log.warning("%s: poll failed: %s", name, error)
        return PollResult(name, False, seconds, error=error)

    def _count_alerts(self) -> None:
        """After every poll: one small query, and the gauge is never behind the alerts."""
        with self.db.session() as session:
            counts = Counter(alert.kind for alert in poe_alerts.active_alerts(session))
        metrics.set_poe_alerts({kind: counts.get(kind, 0) for kind in poe_alerts.AlertKind})

    def due(self, now: dt.datetime | None = None) -> list[int]:
        now = now or utcnow()
        with self.db.session() as session:
            rows = session.execute(select(PoeSwitch.id, PoeSwitch.last_poll_at,
                                          PoeSwitch.poll_interval))  # fmt: skip
            return [
                switch_id
                for switch_id, last, interval in rows
                if last is None or _aware(last) + dt.timedelta(seconds=interval) <= now
            ]

    # -- power-cycles --------------------------------------------------------------------
    async def run_cycle(self, cycle_id: int) -> str:
        """Carry one cycle from the state it is in to done or failed; returns that state.

        Returns early (with the current state) when another live process holds its lease.
        """
        failures = 0
        while True:
            with self.db.session() as session:
                if not poe_cycles.claim(session, cycle_id, self.owner):
                    return poe_cycles.get_cycle(session, cycle_id).state
                cycle = session.get(PoeCycle, cycle_id)
                assert cycle is not None
                state, vendor = cycle.state, profile(cycle.switch.vendor)
                admin_oid = vendor.admin_oid(cycle.group, cycle.index)
                detection_oid = f"{PETH_DETECTION}.{cycle.group}.{cycle.index}"
                off_until = _later(cycle.off_at, cycle.off_seconds)
                watch_until = _later(cycle.on_at, self.watch_seconds)
                agent = agent_for(access(self.box, cycle.switch), self.timeout, self.retries)
            try:
                if state == CycleState.REQUESTED:
                    await self.client.set_int(agent, admin_oid, vendor.admin_off)
                    self._advance(cycle_id, CycleState.OFF, "power off")
                elif state == CycleState.OFF:
                    wait = (off_until - utcnow()).total_seconds()
                    if wait > 0:
                        await asyncio.sleep(min(wait, 1.0))  # then renew the lease
                        continue
                    await self.client.set_int(agent, admin_oid, vendor.admin_on)
                    self._advance(cycle_id, CycleState.ON, "power on")
                elif state == CycleState.ON:
                    (detection,) = await self.client.get(agent, [detection_oid])
                    if detection == DELIVERING_POWER:
                        self._advance(cycle_id, CycleState.DONE, "delivering power again")
                    elif utcnow() > watch_until:
                        detail = f"power is on; nothing drew power in {self.watch_seconds:.0f} s"
                        self._advance(cycle_id, CycleState.FAILED, detail)
                    else:
                        await asyncio.sleep(self.check_every)
                else:
                    return state
                failures = 0
            except SnmpError as exc:
                failures += 1
                if state == CycleState.REQUESTED and failures >= SET_OFF_ATTEMPTS:
                    await self._give_up(cycle_id, agent, admin_oid, vendor.admin_on, exc)
                    continue
                log.warning("power-cycle %d (%s): %s; trying again", cycle_id, state, exc)
                await asyncio.sleep(RETRY_SECONDS)  # a port left off stays dark: never give up

    async def _give_up(
        self, cycle_id: int, agent: Agent, admin_oid: str, on: int, exc: SnmpError
    ) -> None:
        """Power was maybe never cut: make sure it is on, then say the cycle failed."""
        try:
            await self.client.set_int(agent, admin_oid, on)
        except SnmpError:
            log.warning("power-cycle %d: could not confirm the port is on", cycle_id)
        self._advance(cycle_id, CycleState.FAILED, f"the switch refused to cut power: {exc}")

    def _advance(self, cycle_id: int, state: CycleState, detail: str) -> None:
        with self.db.session() as session:
            cycle = session.get(PoeCycle, cycle_id)
            assert cycle is not None
            poe_cycles.advance(session, cycle, state, detail)
        log.info("power-cycle %d: %s", cycle_id, detail)

    # -- the service's loop --------------------------------------------------------------
    async def run(self, stop: threading.Event, tick: float = 1.0) -> None:
        """Until ``stop``: poll switches when due, work on open cycles (new ones, and those
        a process that died left behind: their lease runs out)."""
        tasks: dict[tuple[str, int], asyncio.Task[object]] = {}
        try:
            while not stop.is_set():
                for key, task in list(tasks.items()):
                    if task.done():
                        del tasks[key]
                        if not task.cancelled() and task.exception() is not None:
                            log.error("PoE %s %d failed", *key, exc_info=task.exception())
                with self.db.session() as session:
                    cycles = poe_cycles.open_cycles(session)
                for cycle_id in cycles:
                    if ("cycle", cycle_id) not in tasks:
                        tasks[("cycle", cycle_id)] = asyncio.create_task(self.run_cycle(cycle_id))
                due = [i for i in self.due() if ("poll", i) not in tasks]
                for switch_id in due:
                    tasks[("poll", switch_id)] = asyncio.create_task(self.poll_switch(switch_id))
                await asyncio.sleep(tick)
        finally:
            for task in tasks.values():
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)


def _aware(at: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def _later(at: dt.datetime | None, seconds: float) -> dt.datetime:
    return _aware(at or utcnow()) + dt.timedelta(seconds=seconds)


class PoeThread(BackgroundThread):
    """The poller in a daemon thread of ``serve`` (its own event loop and SNMP engine)."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        super().__init__("poe-poller")
        self._db, self._box = db, box

    def _main(self) -> None:
        async def main() -> None:
            poller = PoePoller(self._db, self._box)
            try:
                await poller.run(self._stop)
            finally:
                poller.close()

        try:
            asyncio.run(main())
        except Exception:
            log.exception("the PoE poller stopped")
