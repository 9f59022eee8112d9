"""A wall clock the test sets, for server processes it starts (``provisioner serve`` and its
HTTP workers, the CLI beside it).

Put this folder first on ``PYTHONPATH`` and name a file in ``TEST_CLOCK_FILE`` holding an ISO
time (``2026-12-10T01:00:00+00:00``): every Python process starting then reads its wall clock
(``time.time``, ``datetime.now``) from that time on, ticking, and follows the file within a
quarter of a second when the test writes another time. Monotonic clocks and sleeps keep real
time (time-machine leaves them alone), so timeouts, the timeline writer's batches and the
server's waits behave as they do in production. libfaketime was tried first: in Debian 12
(0.9.10) it either fails Python's ``time.sleep`` with EINVAL or hangs its timed waits.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from pathlib import Path

_PATH = os.environ.get("TEST_CLOCK_FILE")


def _follow(path: Path) -> None:
    import time_machine

    text = path.read_text().strip()
    coordinates = time_machine.travel(dt.datetime.fromisoformat(text), tick=True).start()

    def watch() -> None:
        seen = text
        while True:
            time.sleep(0.25)  # real time: time-machine does not touch sleeps
            try:
                now = path.read_text().strip()
            except OSError:
                continue
            if now and now != seen:
                coordinates.move_to(dt.datetime.fromisoformat(now))
                seen = now

    threading.Thread(target=watch, name="test-clock", daemon=True).start()


if _PATH:
    _follow(Path(_PATH))
