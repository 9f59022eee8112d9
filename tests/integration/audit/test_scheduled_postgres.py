"""Scheduled changes on PostgreSQL with two ``serve`` instances, each killed with SIGKILL (with
its HTTP workers) around the changes' time and started again: every change is applied exactly
once, and the history has one outcome record and one device record for each."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.db.audit import AuditRecord, ScheduledChange
from provisioner.db.models import ApiRole, Device, utcnow
from provisioner.domain import schedule
from provisioner.domain.access.tokens import create_token
from provisioner.domain.demo import seed_demo
from tests.integration.staging.test_staging_postgres import own_database
from tests.support.server import RunningServer, kill_server, start_server, stop_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.postgres

LEAD = 6.0  # seconds from scheduling to the changes' time: both instances are up by then


@pytest.fixture
def pg_service(postgres_url: str) -> Iterator[Service]:
    yield from own_database(postgres_url, "scheduled_changes")


def call(server: RunningServer, token: str, method: str, path: str, body: object = None) -> object:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{server.http}/api/v1{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
        return json.loads(answer.read() or b"null")


def test_two_instances_killed_around_the_time_apply_each_change_once(
    pg_service: Service, tmp_path: Path
) -> None:
    with pg_service.db.session() as session:
        seed_demo(session, pg_service.box)
        token = create_token(session, "scheduler-test", ApiRole.WAREHOUSE)[1]
        macs = list(session.scalars(select(Device.mac).order_by(Device.mac)))
    url = pg_service.settings.db
    dirs = [tmp_path / "a", tmp_path / "b"]
    for path in dirs:
        path.mkdir()
    servers = [start_server(d, url, demo=False) for d in dirs]
    try:
        at = utcnow() + dt.timedelta(seconds=LEAD)
        when = quote(at.isoformat())
        for mac in macs:
            answer = call(servers[0], token, "PATCH", f"/devices/{mac}?apply_at={when}",
                          {"ring_representative": False})  # fmt: skip
            assert isinstance(answer, dict)
            assert answer["status"] == "pending"
        # A: killed just before the time and started again (it comes back while B applies);
        # B: killed just after the time, while or after it applies (its scheduler passes every
        # second), and started again.
        time.sleep(max(0.0, (at - utcnow()).total_seconds() - 0.5))
        kill_server(servers[0])
        servers[0] = start_server(dirs[0], url, demo=False)
        time.sleep(max(0.0, (at - utcnow()).total_seconds() + 1.2))
        kill_server(servers[1])
        servers[1] = start_server(dirs[1], url, demo=False)

        def all_done() -> bool:
            changes = call(servers[1], token, "GET", "/scheduled-changes")
            assert isinstance(changes, list)
            return all(change["status"] != "pending" for change in changes)

        assert wait_until(all_done, 60, interval=0.5)
    finally:
        for server in servers:
            if server.process.poll() is None:
                stop_server(server)
    with pg_service.db.session() as session:
        changes = session.scalars(select(ScheduledChange)).all()
        assert len(changes) == len(macs)
        assert {c.status for c in changes} == {"applied"}
        outcomes = session.scalars(select(AuditRecord).where(AuditRecord.action == "apply")).all()
        applied = session.scalars(
            select(AuditRecord).where(
                AuditRecord.door == "scheduler", AuditRecord.object_type == "devices"
            )
        ).all()
        ringing = session.scalars(select(Device.ring_representative)).all()
    assert sorted(int(r.object_id or 0) for r in outcomes) == sorted(c.id for c in changes)
    assert sorted(r.object_label or "" for r in applied) == sorted(macs)
    assert not any(ringing)


def test_a_claimed_change_is_skipped_by_a_second_claimer(pg_service: Service) -> None:
    """Two instances at the same moment: while one holds the claim (its transaction open),
    the other finds nothing due; after the holder commits, nothing is due for anyone."""
    with pg_service.db.session() as session:
        due = schedule.schedule(
            session, apply_at=utcnow(), method="PATCH", path="/api/v1/devices/x", query="",
            content_type="application/json", body="{}", actor="api t", role="admin",
        )  # fmt: skip
        due_id = due.id
    held = threading.Event()
    release = threading.Event()
    claimed: list[int | None] = []

    def first() -> None:
        with pg_service.db.session() as session:
            change = schedule.claim_due(session, utcnow())
            claimed.append(change.id if change else None)
            held.set()
            release.wait(10)
            if change is not None:
                schedule.finish(session, change, ok=True, outcome="200: applied")

    holder = threading.Thread(target=first)
    holder.start()
    assert held.wait(10)
    started = time.monotonic()
    with pg_service.db.session() as session:
        assert schedule.claim_due(session, utcnow()) is None
    assert time.monotonic() - started < 5  # skipped, not waited for (the holder waits 10 s)
    release.set()
    holder.join(10)
    assert claimed == [due_id]
    with pg_service.db.session() as session:
        assert schedule.claim_due(session, utcnow()) is None
        assert schedule.get_change(session, due_id).status == "applied"
