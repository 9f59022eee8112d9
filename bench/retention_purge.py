"""Retention purge under a boot storm: delivery p99 with the purge running vs without it.

Builds an inventory with a year of daily fetches per device, then runs the same wrk storm
against ``provisioner serve`` in alternating windows: alone, and while the retention purge
(the code serve's maintenance thread runs, at its priority, on its own sessions) deletes the
old events, ``--rounds`` times, ending alone. Prints each window's p99, each "during" minus
the mean of the windows on either side, and the median of those; target: within 10 ms.
``--control`` runs no purge in the "during" windows: what the method shows when nothing
changes, on this machine, now (a shared machine's load moves p99 by more than the target).

    python -m bench.retention_purge [--devices 2000] [--days 365] [--connections 64]
                                    [--seconds 10] [--rounds 3] [--control]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import insert, select

from bench.boot_storm import (
    KEY,
    bench_fetch,
    build_inventory,
    run_wrk,
    start_provisioner,
    wrk_script,
)
from bench.common import free_port, wait_http
from provisioner.app.maintenance import MaintenanceThread
from provisioner.db.models import Device, DeviceEvent, DeviceState
from provisioner.db.session import Database
from provisioner.domain.background import lower_priority
from provisioner.domain.operations.retention import RetentionPolicy, purge, timeline_size


def add_history(db: Database, days: int, now: dt.datetime) -> int:
    """One fetch a day per device for ``days`` days, written straight into the table."""
    with db.session() as session:
        ids = session.execute(select(Device.id)).scalars().all()
        for day in range(days):
            at = now - dt.timedelta(days=day, hours=1)
            session.execute(insert(DeviceEvent), [
                {"device_id": ident, "at": at, "kind": "fetch", "protocol": "http",
                 "filename": "bench.xml", "status": 200, "sha256": "0" * 64}
                for ident in ids
            ])  # fmt: skip
    return len(ids) * days


class Purger:
    """serve's purge, at the maintenance thread's priority, in windows: started for a
    "during" window and stopped at its end, as a stopping serve stops it (the next window's
    pass goes on where the last one stopped, since it deletes by age)."""

    def __init__(self, db: Database, now: dt.datetime, policy: RetentionPolicy) -> None:
        self.db, self.now, self.policy = db, now, policy
        self.rows, self.seconds = 0, 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def stop(self) -> None:
        assert self._thread is not None
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        lower_priority(MaintenanceThread.nice)
        began = time.perf_counter()
        self.rows += purge(self.db, self.policy, self.now, self._stop)
        self.seconds += time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10, help="per window")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of windows")
    control = "no purge in the 'during' windows: the method's own noise"
    parser.add_argument("--control", action="store_true", help=control)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: run `make bench`, which installs it")
    workdir = Path(tempfile.mkdtemp(prefix="retention-"))
    os.environ["PROVISIONER_SECRET_KEY"] = KEY
    os.environ["PROVISIONER_RETENTION_FETCH_DAYS"] = "0"  # serve's own purge off: ours is timed
    db_url, names = build_inventory(workdir, args.devices, DeviceState.STAGED, bench_fetch)
    db = Database(db_url)
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    rows = add_history(db, args.days, now)
    print(f"{rows} old fetch events written in {time.perf_counter() - started:.1f} s", flush=True)
    script = wrk_script(workdir, names)
    port = free_port()
    server = start_provisioner(workdir, db_url, port)
    windows: list[tuple[str, tuple[float, float, int]]] = []
    purger = Purger(db, now, RetentionPolicy(fetch_days=0) if args.control else RetentionPolicy())
    try:
        wait_http(f"http://127.0.0.1:{port}/{names[0]}")
        url = f"http://127.0.0.1:{port}"
        run_wrk(url, script, args.connections, 3)  # warm the render caches of every worker
        # Windows alternate (without, during, ..., without): on a shared machine the load
        # drifts, and each "during" is compared with the windows on either side of it.
        for _ in range(args.rounds):
            windows.append(("without", run_wrk(url, script, args.connections, args.seconds)))
            purger.start()
            windows.append(("during", run_wrk(url, script, args.connections, args.seconds)))
            purger.stop()
        windows.append(("without", run_wrk(url, script, args.connections, args.seconds)))
    finally:
        server.send_signal(signal.SIGTERM)
        try:  # on a loaded machine its workers may take a while to write the storm's events
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
    print(f"\n{args.devices} devices, {args.connections} connections, "
          f"{args.rounds} rounds of {args.seconds} s windows, wrk -t2"
          f"{', CONTROL: no purge in the during windows' if args.control else ''}")  # fmt: skip
    print(f"{'window':8} {'req/s':>10} {'p99 ms':>8} {'errors':>7} {'vs neighbours':>14}")
    differences = []
    for i, (name, (rps, p99, errors)) in enumerate(windows):
        versus = ""
        if name == "during":
            neighbours = (windows[i - 1][1][1] + windows[i + 1][1][1]) / 2
            differences.append(p99 - neighbours)
            versus = f"{p99 - neighbours:+.1f}"
        print(f"{name:8} {rps:10.0f} {p99:8.1f} {errors:7d} {versus:>14}")
    print(f"purge: {purger.rows} events in {purger.seconds:.1f} s of windows;"
          f" {timeline_size(db).events} events left")  # fmt: skip
    print(f"p99 during purge - mean of the windows around it: median "
          f"{statistics.median(differences):+.1f} ms (target <= 10 ms)")  # fmt: skip
    db.dispose()
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
