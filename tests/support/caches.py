"""Per-process caches that follow every change at once, for tests that change and fetch."""

from __future__ import annotations

from provisioner.domain.delivery.pipeline import Provisioner
from provisioner.domain.delivery.render_cache import FileCache, RenderCache

MIB = 2**20


def follow_every_change(provisioner: Provisioner) -> None:
    """The provisioner's file and device caches ask what changed on every fetch, so a change
    reaches the next fetch, not up to a check interval later."""
    changes = provisioner.db.render_changes
    provisioner.cache = FileCache(changes, 16 * MIB, 32 * MIB, check_interval=0)
    provisioner.devices = RenderCache(changes, check_interval=0)
