"""Firmware over TFTP: our server against tftpd-hpa on the same 30 MB image, same client.

Runs ``provisioner serve --demo`` (TFTP only) and Debian's tftpd-hpa in the foreground on a
free loopback port with its own root, each serving the same bytes, and prints:
- curl's time for the image at blksize 1468 (median of ``--runs``, the servers taking
  turns), MB/s and our share of tftpd-hpa's throughput (target: at least 50%);
- ``--fetches`` concurrent config fetches (one asyncio client, lock-step at 512), with
  failures, p50, p95 and wall time, against our server and tftpd-hpa serving copies.

    python -m bench.firmware_tftp [--size-mb 30] [--runs 3] [--fetches 100]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import free_port
from firmware.catalog import Catalog
from provisioner.domain.demo import demo_mac
from provisioner.tftp.client import TransferFailed, fetch
from provisioner.vendors import all_models, vendor

KEY = "yJ8k2o3m1bKk0m5sRkq3cJ2y3wV0Zp8g9sYg7bN4x1A="
TFTPD = "/usr/sbin/in.tftpd"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def curl_seconds(port: int, name: str, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["curl", "-s", "-S", "--fail", "--tftp-blksize", "1468", "-o", str(out),
         f"tftp://127.0.0.1:{port}/{name}"],
        check=True, timeout=300,
    )  # fmt: skip
    return time.perf_counter() - started


def throughput(servers: list[tuple[int, str]], sha256: str, runs: int, out: Path) -> list[float]:
    """Median seconds per (port, name) over ``runs``, the servers taking turns so that a
    busy moment of the machine hits both; every download is checked byte for byte."""
    times: list[list[float]] = [[] for _ in servers]
    for _ in range(runs):
        for (port, name), taken in zip(servers, times, strict=True):
            taken.append(curl_seconds(port, name, out))
            assert hashlib.sha256(out.read_bytes()).hexdigest() == sha256, f"{name}: wrong bytes"
            out.unlink()
    return [statistics.median(taken) for taken in times]


async def _timed(port: int, name: str, expected: bytes) -> float | None:
    started = time.perf_counter()
    try:
        body = await asyncio.wait_for(fetch(("127.0.0.1", port), name), 10)
    except (TransferFailed, TimeoutError):
        return None
    return time.perf_counter() - started if body == expected else None


async def _concurrent(
    port: int, files: dict[str, bytes], count: int
) -> tuple[list[float | None], float]:
    names = list(files)
    started = time.perf_counter()
    jobs = [_timed(port, names[i % len(names)], files[names[i % len(names)]]) for i in range(count)]
    results = await asyncio.gather(*jobs)
    return list(results), time.perf_counter() - started


def concurrent(port: int, files: dict[str, bytes], count: int) -> tuple[str, int]:
    """One line of results, and the number of failed fetches."""
    results, wall = asyncio.run(_concurrent(port, files, count))
    ok = sorted(r for r in results if r is not None)
    failed = count - len(ok)
    if not ok:
        return f"{count} fetches: all failed", count
    p95 = ok[min(len(ok) - 1, int(len(ok) * 0.95))]
    return (
        f"{len(ok)}/{count} ok, {failed} failed, p50 {statistics.median(ok) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, wall {wall * 1000:.0f} ms"
    ), failed


def wait_tftp(port: int, name: str, process: subprocess.Popen[bytes]) -> bytes:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            return asyncio.run(asyncio.wait_for(fetch(("127.0.0.1", port), name), 2))
        except (TransferFailed, TimeoutError, OSError):
            time.sleep(0.3)
    raise TimeoutError("no TFTP answer in 60 s")


def demo_files() -> list[str]:
    return [
        vendor(model.vendor).device_filename(demo_mac(index, model), model)
        for index, model in enumerate(all_models(), start=1)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fetches", type=int, default=100)
    args = parser.parse_args()
    if not os.access(TFTPD, os.X_OK):
        print(f"{TFTPD} missing: apt-get install tftpd-hpa (make debs)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="bench-fw-tftp-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        data = random.Random(30).randbytes(args.size_mb * 1024 * 1024)
        (workdir / "fw.bin").write_bytes(data)
        sha256 = hashlib.sha256(data).hexdigest()
        image = Catalog(workdir / "store").import_image(
            workdir / "fw.bin", "grandstream", ["GXP2170"], "1.0.11.79"
        )
        hpa_root = workdir / "hpa"
        hpa_root.mkdir()
        shutil.copyfile(workdir / "fw.bin", hpa_root / image.filename)
        for path in (workdir, hpa_root, *hpa_root.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)  # tftpd-hpa drops to nobody

        ours, theirs = free_udp_port(), free_udp_port()
        env = {**os.environ, "PROVISIONER_DB": f"sqlite:///{workdir / 'bench.db'}",
               "PROVISIONER_SECRET_KEY": KEY, "PROVISIONER_FIRMWARE_DIR": str(workdir / "store"),
               "PROVISIONER_HTTP_BASE": f"http://127.0.0.1:{free_port()}"}  # fmt: skip
        log = (workdir / "serve.log").open("wb")
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "provisioner", "serve", "--demo", "--no-http",
             "--tftp", f"127.0.0.1:{ours}"],
            cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
        ))  # fmt: skip
        processes.append(subprocess.Popen(
            [TFTPD, "-L", "-s", str(hpa_root), "-a", f"127.0.0.1:{theirs}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))  # fmt: skip
        names = demo_files()
        files = {name: wait_tftp(ours, name, processes[0]) for name in names}
        for name, body in files.items():
            (hpa_root / name).write_bytes(body)
            (hpa_root / name).chmod(0o644)
        wait_tftp(theirs, names[0], processes[1])

        print(f"{args.size_mb} MB image, curl --tftp-blksize 1468, median of {args.runs}:")
        out = workdir / "out.bin"
        servers = [(ours, f"firmware/{image.filename}"), (theirs, image.filename)]
        our_s, their_s = throughput(servers, sha256, args.runs, out)
        size_mb = len(data) / 1e6
        print(f"  ours       {our_s:6.2f} s  {size_mb / our_s:6.1f} MB/s")
        print(f"  tftpd-hpa  {their_s:6.2f} s  {size_mb / their_s:6.1f} MB/s")
        ratio = their_s / our_s
        print(f"  ratio ours/tftpd-hpa: {ratio:.0%} (target at least 50%)")

        print(f"{args.fetches} concurrent config fetches ({len(files)} demo files, blksize 512):")
        our_line, our_failed = concurrent(ours, files, args.fetches)
        their_line, _ = concurrent(theirs, files, args.fetches)
        print(f"  ours       {our_line}")
        print(f"  tftpd-hpa  {their_line}")
        return 0 if ratio >= 0.5 and our_failed == 0 else 1
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
