"""A backup taken with the CLI while devices fetch (and the timeline writes) restores into a new
database, migrates, and serves the same bytes."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from pathlib import Path

from provisioner.domain.demo import demo_rows
from tests.support.server import start_server, stop_server

FILES = sorted({f"cfg{row['mac']}.xml" for row in demo_rows() if row["mac"].startswith("000b82")})


def fetch(base: str, name: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"{base}/{name}", timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, b""


def test_backup_during_a_storm_restores_and_serves(tmp_path: Path) -> None:
    assert FILES
    live = tmp_path / "live"
    live.mkdir()
    server = start_server(live, f"sqlite:///{live / 'inventory.db'}")
    stop = threading.Event()
    fetched: list[int] = []

    def storm() -> None:
        while not stop.is_set():
            for name in FILES:
                fetched.append(fetch(server.http, name)[0])

    workers = [threading.Thread(target=storm) for _ in range(4)]
    try:
        expected = {name: fetch(server.http, name) for name in FILES}
        assert all(status == 200 for status, _ in expected.values())
        for worker in workers:
            worker.start()
        backup = server.cli("backup", "--to", str(tmp_path / "storm.tar"))
        assert backup.returncode == 0, backup.stderr
        assert len(fetched) > 0
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        stop_server(server)
    restored = tmp_path / "restored"
    restored.mkdir()
    url = f"sqlite:///{restored / 'inventory.db'}"
    done = server.cli("--db", url, "restore", str(tmp_path / "storm.tar"))
    assert done.returncode == 0, done.stderr
    again = start_server(restored, url)
    try:
        for name, (_, body) in expected.items():  # the files name the server's own port
            moved = body.replace(f":{server.http_port}".encode(), f":{again.http_port}".encode())
            assert fetch(again.http, name) == (200, moved)
    finally:
        stop_server(again)
