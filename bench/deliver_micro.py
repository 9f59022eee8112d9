"""The delivery pipeline's hot path in process: ``Provisioner.deliver`` on a warm render cache.

A boot storm after a power cut runs every fetch through this code; this times it without a
web server in front, from the bench (a staging address, no credentials) and from the field
(HTTP Digest, which spends each (nonce, nc) pair: in the process's memory, then in a spent-nonce
file like the one ``serve`` shares between its workers), so a change to the pipeline can be
compared with the code before it, run after run on the same machine.

    python -m bench.deliver_micro [--devices 2000] [--fetches 20000] [--dir /dev/shm]

The database is read only on cache misses; ``--dir`` places it (a disk or /dev/shm).
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from provisioner.app.service import Service, open_service
from provisioner.db.models import Device
from provisioner.domain.delivery.digest import (
    REALM,
    DigestResponse,
    SpentNonces,
    create_store,
    expected_response,
)
from provisioner.domain.delivery.pipeline import Fetch, Outcome
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.settings import Settings
from provisioner.vendors import find_model, vendor

KEY = "yJ8k2o3m1bKk0m5sRkq3cJ2y3wV0Zp8g9sYg7bN4x1A="
MODELS = ("GXP1628", "GXP2170", "GRP2614", "HT802", "HT814", "KX-HDV230", "KX-UT133")
BENCH, FIELD = "127.0.0.1", "192.0.2.10"
FILE_STORE = "field, spent-nonce table file"


def build_service(
    workdir: Path, devices: int, db: str | None = None
) -> tuple[Service, list[tuple[str, str]]]:
    """An inventory of ``devices`` one-line devices (in a SQLite file in ``workdir``, or in the
    empty database ``db`` names); returns the service and (mac, file name) pairs. The timeline
    writer is not started: events queue up as they would between two writes, and nothing
    competes with the timed loop."""
    rows = [
        {
            "tenant": f"tenant-{index // 50:04d}",
            "extension": f"{1000 + index % 50}",
            "direct_number": "",
            "display_name": f"Bench {index}",
            "mac": f"{0x02B000000000 + index:012x}",  # locally administered, unicast
            "model": MODELS[index % len(MODELS)],
            "port": "1",
        }
        for index in range(devices)
    ]
    settings = Settings(
        db=db or f"sqlite:///{workdir / 'bench.db'}",
        secret_key=KEY,
        staging_networks=(f"{BENCH}/32",),
    )
    service = open_service(settings)
    with service.db.session() as session:
        report = import_sheet(session, service.box, sheet_rows(rows))
    assert report.ok, report.errors[:3]
    files = []
    for row in rows:
        model = find_model(row["model"])
        assert model is not None
        files.append((row["mac"], vendor(model.vendor).device_filename(row["mac"], model)))
    return service, files


def field_fetches(service: Service, files: list[tuple[str, str]], count: int) -> list[Fetch]:
    """``count`` Digest-authenticated fetches from outside the bench, round-robin over the
    devices, each with a (nonce, nc) pair never spent; answers are computed here, untimed."""
    with service.db.session() as session:
        secrets = {
            mac: (user, service.box.decrypt(encrypted))
            for mac, user, encrypted in session.execute(
                select(Device.mac, Device.http_user, Device.http_password_encrypted)
            )
            if user and encrypted  # every imported device has them: it is bound
        }
    nonces = {mac: service.provisioner.mint.issue() for mac, _ in files}
    counts = dict.fromkeys(nonces, 0)
    fetches = []
    for mac, name in itertools.islice(itertools.cycle(files), count):
        user, password = secrets[mac]
        counts[mac] += 1
        answer = DigestResponse(
            username=user, realm=REALM, nonce=nonces[mac], uri=f"/{name}", response="",
            qop="auth", nc=f"{counts[mac]:08x}", cnonce="0a4f113b", algorithm="MD5",
        )  # fmt: skip
        signed = answer._replace(response=expected_response(answer, password, "GET"))
        fetches.append(Fetch(name, "http", FIELD, user_agent=None, digest=signed))
    return fetches


def timed(service: Service, fetches: list[Fetch]) -> float:
    """Seconds for all fetches, each of which must be served."""
    deliver = service.provisioner.deliver
    started = time.perf_counter()
    for fetch in fetches:
        delivery = deliver(fetch)
        if delivery.outcome is not Outcome.SERVED:
            raise AssertionError(f"{fetch.filename}: {delivery.outcome} ({delivery.reason})")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--fetches", type=int, default=20000)
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="Where the SQLite inventory and the spent-nonce table go.",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        service, files = build_service(Path(tmp), args.devices)
        bench = [Fetch(name, "http", BENCH) for _, name in files]
        field = field_fetches(service, files, len(files) + args.fetches)
        timed(service, bench)  # warm the render and device caches, both variants
        timed(service, field[: len(files)])
        runs = {
            "bench (staging, no credentials)": [bench[i % len(bench)] for i in range(args.fetches)],
            "field (HTTP Digest)": field[len(files) :],
            FILE_STORE: field[len(files) :],
        }
        for label, fetches in runs.items():
            if label == FILE_STORE:  # the same answers, unseen by the new store
                create_store(Path(tmp) / "spent.table")
                service.provisioner.spent = SpentNonces(Path(tmp) / "spent.table")
            seconds = timed(service, fetches)
            print(
                f"{label:34s} {len(fetches)} fetches in {seconds:6.2f} s: "
                f"{len(fetches) / seconds:8.0f}/s, {seconds / len(fetches) * 1e6:6.1f} us each",
                flush=True,
            )
        service.db.dispose()


if __name__ == "__main__":
    main()
