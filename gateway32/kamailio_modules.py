"""Where this machine keeps Kamailio's modules, for the ``mpath`` of a rendered kamailio.cfg.

Debian puts them under the multiarch directory (``/usr/lib/x86_64-linux-gnu/...`` on amd64,
``/usr/lib/aarch64-linux-gnu/...`` on arm64), so a fixed path breaks on another architecture.
Kamailio itself knows where it was built to look (``kamailio -I``); the Makefile's glob is the
fallback. The provisioner's PBX core renders its kamailio.cfg with the same answer, so this
module imports nothing else of gateway32.
"""

from __future__ import annotations

import functools
import glob
import subprocess
from pathlib import Path

_DEFAULT_PATHS_LINE = "Default paths to modules:"
MODULES_GLOB = "/usr/lib/*/kamailio/modules"


class ModulesNotFound(RuntimeError):
    """No directory of Kamailio modules on this machine; the message says what to do."""


@functools.cache
def kamailio_modules_dir(kamailio: str = "kamailio") -> Path:
    """The first module directory ``kamailio -I`` names that exists, else the first match of
    :data:`MODULES_GLOB`. Cached: the answer does not change while a process runs, and the
    gateway renders its configuration on every reload."""
    for directory in [*_reported_by(kamailio), *sorted(glob.glob(MODULES_GLOB))]:
        if Path(directory, "tm.so").is_file():
            return Path(directory)
    raise ModulesNotFound(
        f"no Kamailio modules found ({kamailio} -I names none, nothing matches {MODULES_GLOB}): "
        "install Debian's kamailio"
    )


def _reported_by(kamailio: str) -> list[str]:
    """The colon-separated module paths compiled into the binary; none if it cannot be run."""
    try:
        printed = subprocess.run(
            [kamailio, "-I"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    for line in printed.splitlines():
        if line.strip().startswith(_DEFAULT_PATHS_LINE):
            return [p for p in line.split(":", 1)[1].strip().split(":") if p]
    return []
