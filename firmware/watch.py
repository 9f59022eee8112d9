"""Watching a rollout: loop detection per device and self-pausing waves, as pure functions.

A device whose upgrade fails (a bad image, a flash error) tends to download the image again
at each boot and never report the new version: without a limit it loops, and its users have
a phone that reboots all day. Counting whole downloads of the same image at the same
reported version catches it; only a response carrying the whole image counts (not a resume,
a piece or a one-byte probe), so a flaky link is not mistaken for a loop.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LOOP_LIMIT = 3
DEFAULT_FAILURE_PERCENT = 20


@dataclass(frozen=True)
class DownloadCount:
    """Whole downloads of ``image`` since the device last reported a new version."""

    image: str  # catalog file name
    version: str | None  # the version the device reported while downloading
    downloads: int = 0


@dataclass(frozen=True)
class Looping:
    """The verdict that holds a device and raises an alert."""

    image: str
    version: str | None
    downloads: int

    @property
    def reason(self) -> str:
        return (
            f"firmware loop: downloaded {self.image} {self.downloads} times "
            f"without leaving version {self.version or 'unknown'}"
        )


def count_download(
    previous: DownloadCount | None, image: str, version: str | None, limit: int
) -> tuple[DownloadCount, Looping | None]:
    """The new count after one whole download, and a verdict once it reaches ``limit``."""
    if previous is None or previous.image != image or previous.version != version:
        count = DownloadCount(image, version, 1)
    else:
        count = DownloadCount(image, version, previous.downloads + 1)
    looping = Looping(image, version, count.downloads) if count.downloads >= limit else None
    return count, looping


def whole_download(method: str, status: int, content_range: str | None, size: int) -> bool:
    """A GET answered with the whole image: a 200, or a 206 whose range is all of it (a
    client may ask ``bytes=0-``). A resume, a piece or a probe (``bytes=0-0``) is part of an
    attempt, and counting it would let three one-byte requests look like three attempts."""
    if method != "GET":
        return False
    if status == 200:
        return True
    return status == 206 and content_range == f"bytes 0-{size - 1}/{size}"


def wave_failing(members: int, failures: int, threshold_percent: int) -> bool:
    """More than ``threshold_percent`` of the open wave's devices failed (at least one)."""
    return failures > 0 and failures * 100 > threshold_percent * max(members, 1)
