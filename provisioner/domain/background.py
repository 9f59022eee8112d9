"""The daemon threads of ``serve`` (PoE poller, registration poller, maintenance): one shape.

Each runs its loop until :meth:`BackgroundThread.stop` sets the event it waits on, so a
stopping ``serve`` never waits a whole poll interval; the join is bounded because a thread
that hangs must not keep the process from exiting.
"""

from __future__ import annotations

import threading
from typing import Self


class BackgroundThread:
    """A named daemon thread running :meth:`_main` until stopped; subclasses write ``_main``."""

    join_seconds = 10.0

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.join_seconds)

    def _main(self) -> None:
        raise NotImplementedError
