"""The HTTP front's share of a device fetch, in process, and what a full collection costs.

``serve``'s workers answer a device file on the event loop straight from granian's RSGI scope
(``provisioner.web.front``, ``direct``); anything else goes through WSGI and Flask in a pool
thread. This times both doors on the same warm render cache, in the same run, with a fake RSGI
protocol (no sockets: only the Python a request costs), and prints the ratio. It then times a
full garbage collection of the warm worker with and without start-up frozen (``gc.freeze()``,
as ``provisioner.web.wsgi`` does): a full collection stops the event loop, so its length is a
floor under p99.

    python -m bench.front_direct [--devices 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
from pathlib import Path

from bench.boot_storm import KEY, bench_fetch, build_inventory
from provisioner.app.service import open_service
from provisioner.db.models import DeviceState
from provisioner.settings import Settings
from provisioner.web import create_app
from provisioner.web.device_files import DeviceFiles
from provisioner.web.front import BufferedFront
from tests.support.rsgi import Proto, Scope


def _scope(path: str) -> Scope:
    """A bench device's fetch (loopback: a staging network) as granian hands it."""
    agent = [("host", "127.0.0.1:8080"), ("user-agent", "Grandstream GXP1628 1.0.11.23")]
    return Scope(path, "GET", agent, client="127.0.0.1:40000", query_string="")


async def _per_request(front: BufferedFront, scopes: list[Scope]) -> float:
    """Microseconds per fetch, every device once."""
    proto = Proto([])
    started = time.perf_counter()
    for scope in scopes:
        proto.answer = None
        await front.__rsgi__(scope, proto)  # type: ignore[arg-type]
        assert proto.answer is not None
        assert proto.answer[0] == 200, proto.answer
    return (time.perf_counter() - started) / len(scopes) * 1e6


def _full_collection_ms() -> float:
    started = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="front-direct-"))
    db_url, names = build_inventory(workdir, args.devices, DeviceState.STAGED, bench_fetch)
    service = open_service(Settings(db=db_url, secret_key=KEY), upgrade=False)
    service.timeline.start()
    app = create_app(service)
    direct = BufferedFront(app.wsgi_app, 1, 5.0, direct=DeviceFiles(app))
    flask = BufferedFront(app.wsgi_app, 1, 5.0)
    gc.collect()
    gc.freeze()  # start-up, as a worker freezes it
    scopes = [_scope(f"/{name}") for name in names]
    asyncio.run(_per_request(direct, scopes))  # every file rendered and cached
    times: dict[str, list[float]] = {"direct": [], "flask": []}
    for _ in range(args.rounds):  # alternating: the machine's noise falls on both
        times["direct"].append(asyncio.run(_per_request(direct, scopes)))
        times["flask"].append(asyncio.run(_per_request(flask, scopes)))
    frozen = min(_full_collection_ms() for _ in range(3))
    gc.unfreeze()
    whole = min(_full_collection_ms() for _ in range(3))
    service.close()
    print(f"{args.devices} devices (cached), {args.rounds} rounds each, best round")
    best = {door: min(values) for door, values in times.items()}
    for door, values in times.items():
        rounds = ", ".join(f"{value:.1f}" for value in values)
        print(f"{door:8} {best[door]:6.1f} us/fetch  (rounds: {rounds})")
    print(f"ratio direct/flask: {best['direct'] / best['flask']:.0%} of the time")
    print(f"full collection: {whole:.1f} ms, {frozen:.1f} ms with start-up frozen "
          f"({frozen / whole:.0%})")  # fmt: skip


if __name__ == "__main__":
    main()
