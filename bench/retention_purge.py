"""Retention purge under a boot storm: delivery p99 with the purge running vs without it.

Builds an inventory with a year of daily fetches per device, then runs the same wrk storm
three times against ``provisioner serve``: alone, while the retention purge (the code serve's
maintenance thread runs, at its priority, on its own sessions) deletes the old events, and
alone again once the purge was stopped (as a stopping serve stops it) or ended. Prints the
p99s and the difference to the mean of the two without; target: within 10 ms.

    python -m bench.retention_purge [--devices 2000] [--days 365] [--connections 64] [--seconds 15]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=15)
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
    results = {}
    purged: dict[str, float] = {}
    try:
        wait_http(f"http://127.0.0.1:{port}/{names[0]}")
        url = f"http://127.0.0.1:{port}"
        run_wrk(url, script, args.connections, 3)  # warm the render caches of every worker
        results["without purge"] = run_wrk(url, script, args.connections, args.seconds)

        stop = threading.Event()

        def purging() -> None:
            lower_priority(MaintenanceThread.nice)  # as serve's maintenance thread runs it
            began = time.perf_counter()
            purged["rows"] = purge(db, RetentionPolicy(), now, stop)
            purged["seconds"] = time.perf_counter() - began

        thread = threading.Thread(target=purging)
        thread.start()
        results["during purge"] = run_wrk(url, script, args.connections, args.seconds)
        # A gentle purge yields to the storm and may be far from done: stop it, as a
        # stopping serve does (the next pass would go on).
        still_running = thread.is_alive()
        stop.set()
        thread.join()
        # Again without: on a shared machine the load moves, and one reference can mislead.
        results["without, after"] = run_wrk(url, script, args.connections, args.seconds)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    print(f"\n{args.devices} devices, {args.connections} connections, {args.seconds} s, wrk -t2")
    print(f"{'':15} {'req/s':>10} {'p99 ms':>8} {'errors':>7}")
    for name, (rps, p99, errors) in results.items():
        print(f"{name:15} {rps:10.0f} {p99:8.1f} {errors:7d}")
    print(f"purge: {purged['rows']:.0f} events in {purged['seconds']:.1f} s"
          f"{' (stopped when the storm ended)' if still_running else ' (done before the storm)'};"
          f" {timeline_size(db).events} events left")  # fmt: skip
    reference = (results["without purge"][1] + results["without, after"][1]) / 2
    difference = results["during purge"][1] - reference
    print(f"p99 during purge - mean of without: {difference:+.1f} ms (target <= 10 ms)")
    db.dispose()
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
