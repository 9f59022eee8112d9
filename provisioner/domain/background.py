"""The daemon threads of ``serve`` (PoE poller, registration poller, maintenance): one shape.

Each runs its loop until :meth:`BackgroundThread.stop` sets the event it waits on, so a
stopping ``serve`` never waits a whole poll interval; the join is bounded because a thread
that hangs must not keep the process from exiting.
"""

from __future__ import annotations

import os
import threading
from typing import Self


def lower_priority(nice: int) -> None:
    """Give the calling thread (not its process) a nicer CPU share: on Linux a thread is
    scheduled on its own, and its id names it for ``setpriority``. One way: an unprivileged
    thread cannot take the priority back, so only a thread of its own should call this."""
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


class BackgroundThread:
    """A named daemon thread running :meth:`_main` until stopped; subclasses write ``_main``."""

    join_seconds = 10.0
    nice = 0  # above 0: the thread yields the CPU to the rest of serve (fetches first)

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.join_seconds)

    def _run(self) -> None:
        if self.nice:
            lower_priority(self.nice)
        self._main()

    def _main(self) -> None:
        raise NotImplementedError
