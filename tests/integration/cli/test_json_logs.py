"""``PROVISIONER_LOG_FORMAT=json``: every line ``serve`` and its HTTP workers write is one JSON
object with the same fields."""

from __future__ import annotations

import contextlib
import json
import re
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.server import start_server, stop_server
from tests.support.waiting import wait_until


def test_serve_and_its_workers_log_json(tmp_path: Path) -> None:
    server = start_server(
        tmp_path, f"sqlite:///{tmp_path / 'inventory.db'}",
        env_extra={"PROVISIONER_LOG_FORMAT": "json"},
    )  # fmt: skip
    try:
        # A worker logs a file it cannot render: a MAC-named file of an unknown device.
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(f"{server.http}/cfg000b82ffffff.xml", timeout=10)  # noqa: S310
        log = tmp_path / "server.log"
        assert wait_until(lambda: "unknown device" in log.read_text(), 10)
    finally:
        stop_server(server)
    lines = log.read_text().splitlines()  # standard output too: the demo's table
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert not [line for line in lines if re.search(r"\b(INFO|WARNING|ERROR)\b", line)
                and not line.startswith("{")]  # fmt: skip
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
    loggers = {entry["logger"] for entry in entries}
    assert "provisioner.app.runner" in loggers  # serve's parent
    assert any("unknown device" in entry["message"] for entry in entries)  # a worker
