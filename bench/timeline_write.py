"""The timeline writer in process: CPU per fetch event recorded and written.

Every fetch of a boot storm becomes a timeline event. serve's HTTP workers write them in
batches on a thread of the process that answers the requests, so every microsecond a batch
holds the GIL is taken from the requests (and shows in their p99). This records ``--events``
FETCH events of ``--devices`` devices, round-robin, and writes them through the writer serve
builds (BenchStager and FirmwareWatcher observing), timing the recording (the request
thread's share) and the writing (the writer thread's) apart, each ``--rounds`` times:

- bench: from the staging network, every device staged already (a bench's steady state);
- bench + firmware: the same with the firmware a phone's User-Agent reports (as stored);
- field: from a customer's network (Digest-authenticated fetches of installed phones).

Into a fresh SQLite file, and into PostgreSQL too when ``PROVISIONER_BENCH_PG`` names a
server (``postgresql://user@host:port/db``: a database ``bench_timeline`` is recreated on it).

    python -m bench.timeline_write [--devices 2000] [--events 20000] [--rounds 3] [--dir DIR]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy import func, select

from bench.deliver_micro import BENCH, FIELD, build_service
from provisioner.app.service import Service
from provisioner.db.models import Device, DeviceEvent, DeviceState, utcnow
from provisioner.domain.timeline import Event, EventKind

PG_ENV = "PROVISIONER_BENCH_PG"
FIRMWARE = "1.0.11.3"
AGENT = "Grandstream Model HW GXP1628 SW 1.0.11.3 DevId {mac}"


def record(service: Service, files: list[tuple[str, str]], count: int, **fields: str) -> None:
    """``count`` served-fetch events, as the pipeline records them on the request thread."""
    timeline = service.timeline
    source, firmware = fields["source"], fields.get("firmware")
    for mac, name in itertools.islice(itertools.cycle(files), count):
        timeline.record(
            Event(
                mac=mac,
                kind=EventKind.FETCH,
                at=utcnow(),
                protocol="http",
                filename=name,
                source=source,
                user_agent=AGENT.format(mac=mac),
                firmware=firmware,
                status=200,
                sha256="5" * 64,
            )
        )


def fetch_events(service: Service) -> int:
    with service.db.session() as session:
        query = select(func.count()).where(DeviceEvent.kind == EventKind.FETCH)
        return session.execute(query).scalar_one()


def run(service: Service, files: list[tuple[str, str]], events: int, rounds: int) -> None:
    # Warm-up: one bench fetch each, reporting the firmware; the stager stages every device.
    record(service, files, len(files), source=BENCH, firmware=FIRMWARE)
    service.timeline.flush()
    with service.db.session() as session:
        states = session.execute(select(Device.state).distinct()).scalars().all()
    assert states == [DeviceState.STAGED], states
    variants = {
        "bench (staged devices)": {"source": BENCH},
        "bench + firmware reported": {"source": BENCH, "firmware": FIRMWARE},
        "field (customer network)": {"source": FIELD},
    }
    for label, fields in variants.items():
        recorded, written, wall = [], [], []
        for _ in range(rounds):
            before = fetch_events(service)
            cpu = time.thread_time()
            record(service, files, events, **fields)
            recorded.append((time.thread_time() - cpu) / events * 1e6)
            cpu, started = time.thread_time(), time.perf_counter()
            assert service.timeline.flush() == events
            written.append((time.thread_time() - cpu) / events * 1e6)
            wall.append(time.perf_counter() - started)
            assert fetch_events(service) - before == events  # every event stored
        seconds = statistics.median(wall)
        print(
            f"  {label:28s} {events / seconds:8.0f} events/s written; CPU per event: "
            f"record {statistics.median(recorded):5.1f} us, write "
            f"{statistics.median(written):6.1f} us (rounds: "
            f"{', '.join(f'{value:.1f}' for value in written)})",
            flush=True,
        )


def fresh_postgres(url: str) -> str:
    """``url``'s server with an empty ``bench_timeline`` database; its URL."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS bench_timeline")
        connection.execute("CREATE DATABASE bench_timeline")
    return url.rsplit("/", 1)[0] + "/bench_timeline"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="Where the SQLite file goes.")
    args = parser.parse_args()
    databases: dict[str, str | None] = {"SQLite": None}
    if os.environ.get(PG_ENV):
        databases["PostgreSQL"] = fresh_postgres(os.environ[PG_ENV])
    for name, url in databases.items():
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            service, files = build_service(Path(tmp), args.devices, url)
            print(f"{name}: {args.events} fetch events of {args.devices} devices", flush=True)
            try:
                run(service, files, args.events, args.rounds)
            finally:
                service.db.dispose()


if __name__ == "__main__":
    main()
