"""Serving a 60 MB image to 20 curl clients at once keeps the server's memory flat: images are
streamed from disk, never held whole. The RSS of ``provisioner serve`` and every process under
it (HTTP workers) is sampled during the downloads; the bound is generous but far below what
one image per download in memory would take (20 x 60 MB).
"""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.support.server import RunningServer, start_firmware_server, stop_server

SIZE = 60 * 1024 * 1024
CLIENTS = 20
GROWTH_BOUND = 200 * 1024 * 1024


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants."""
    tree, total, todo = _children(), 0, [root]
    while todo:
        pid = todo.pop()
        todo += tree.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


@pytest.fixture(scope="module")
def big_image(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunningServer, str]:
    workdir = tmp_path_factory.mktemp("firmware-memory")
    (workdir / "big.bin").write_bytes(random.Random(60).randbytes(SIZE))
    server = start_firmware_server(workdir)
    try:
        args = ["--vendor", "grandstream", "--model", "GXP2170", "--version", "1.0.11.79"]
        result = server.cli("firmware", "import", str(workdir / "big.bin"), *args)
        assert result.returncode == 0, result.stderr.decode()
        (workdir / "big.bin").unlink()
        name = next(
            line.split(":", 1)[1].strip()
            for line in result.stdout.decode().splitlines()
            if line.startswith("file name:")
        )
        yield server, name
    finally:
        stop_server(server)


def test_twenty_clients_download_60_mb_with_flat_memory(
    big_image: tuple[RunningServer, str],
) -> None:
    server, name = big_image
    url = f"{server.http}/firmware/{name}"
    subprocess.run(["curl", "-s", "-o", "/dev/null", url], check=True, timeout=60)  # warm up
    baseline = tree_rss(server.process.pid)
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(tree_rss(server.process.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        clients = [
            subprocess.Popen(
                [
                    "curl",
                    "-s",
                    "-S",
                    "--limit-rate",
                    "30M",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code} %{size_download}",
                    url,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(CLIENTS)
        ]
        results = [client.communicate(timeout=120)[0].decode() for client in clients]
    finally:
        stop.set()
        sampler.join()
    assert results == [f"200 {SIZE}"] * CLIENTS
    peak = max(samples)
    growth = peak - baseline
    print(f"server RSS: baseline {baseline / 2**20:.0f} MiB, peak {peak / 2**20:.0f} MiB, "
          f"growth {growth / 2**20:.0f} MiB over {len(samples)} samples")  # fmt: skip
    assert len(samples) > 10  # the downloads overlapped the sampling
    assert growth < GROWTH_BOUND
