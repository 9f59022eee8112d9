"""Uploading new ``cdr.jsonl`` lines to the provisioner, exactly once across restarts.

The engine appends one JSON object per line. The uploader remembers how far it got in
``<state_dir>/cdr.offset`` (the file's inode and a byte offset, written atomically) and moves
it only after the provisioner has accepted the batch. If the gateway dies between the two, the
batch is sent again and the provisioner, idempotent by gateway and call ID, stores it once.
A partial last line (being written) waits for the next round. A line that is not a JSON object
is skipped; a record the provisioner refuses is set aside in ``cdr.rejected.jsonl`` (so one bad
record cannot hold back every later call) and the rest of its batch is sent again.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from gateway32.provisioning import ProvisioningError, endpoint, opener, write_atomically
from gateway32.settings import Settings

BATCH = 500  # records per request (the provisioner takes up to 1000)


class BatchAnswer(TypedDict, total=False):
    """The provisioner's answer to a batch of CDRs (``POST /gateway/<mac>/cdrs``)."""

    accepted: int  # stored now
    duplicates: int  # already stored by an earlier upload of the same batch


@dataclass(frozen=True)
class UploadResult:
    accepted: int  # records the provisioner stored now
    duplicates: int  # records it already had
    skipped: int  # lines that were not JSON objects
    rejected: int  # records it refused, now in cdr.rejected.jsonl
    ok: bool
    message: str


@dataclass(frozen=True)
class Position:
    inode: int
    offset: int


@dataclass
class Batch:
    lines: list[bytes]  # each a JSON object
    skipped: int
    end: int  # file offset after the batch


class Refused(ProvisioningError):
    """The provisioner refused one record of a batch (its index in ``record``)."""

    def __init__(self, message: str, record: int) -> None:
        super().__init__(message)
        self.record = record


def offset_file(settings: Settings) -> Path:
    return settings.state_path / "cdr.offset"


def rejected_file(settings: Settings) -> Path:
    return settings.state_path / "cdr.rejected.jsonl"


def read_position(settings: Settings) -> Position:
    try:
        saved = json.loads(offset_file(settings).read_text(encoding="utf-8"))
        return Position(int(saved["inode"]), int(saved["offset"]))
    except (OSError, ValueError, KeyError, TypeError):
        return Position(0, 0)


def _save(settings: Settings, position: Position) -> None:
    text = json.dumps({"inode": position.inode, "offset": position.offset}) + "\n"
    write_atomically(offset_file(settings), text.encode("utf-8"))


def _set_aside(settings: Settings, line: bytes) -> None:
    with rejected_file(settings).open("ab") as handle:
        handle.write(line.rstrip(b"\n") + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


def _is_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False


def _batches(data: bytes, start: int) -> list[Batch]:
    """The complete lines after ``start`` in batches; a line still being written waits."""
    batches = [Batch([], 0, start)]
    end = data.rfind(b"\n") + 1
    for line in data[:end].splitlines(keepends=True):
        batch = batches[-1]
        if len(batch.lines) >= BATCH:
            batch = Batch([], 0, batch.end)
            batches.append(batch)
        batch.end += len(line)
        if _is_object(line):
            batch.lines.append(line)
        elif line.strip():
            batch.skipped += 1
    return [b for b in batches if b.lines or b.skipped or b.end != start]


def _post(settings: Settings, lines: list[bytes], timeout: float) -> BatchAnswer:
    body = b"[" + b",".join(line.strip() for line in lines) + b"]"
    request = urllib.request.Request(  # noqa: S310 - the URL is our setting, checked by opener()
        endpoint(settings, "cdrs"),
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with opener(settings).open(request, timeout=timeout) as answer:
            parsed: BatchAnswer = json.loads(answer.read(10_000))
            return parsed
    except urllib.error.HTTPError as exc:
        raw = exc.read(2000)
        try:
            detail = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            detail = {"error": raw.decode("utf-8", "replace").strip()}
        message = f"provisioner answered {exc.code}: {detail.get('error') or exc.reason}"
        if exc.code == 422 and isinstance(detail.get("record"), int):
            raise Refused(message, detail["record"]) from exc
        raise ProvisioningError(message) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ProvisioningError(f"provisioner unreachable: {reason}") from exc


def upload_cdrs(settings: Settings, timeout: float = 10.0) -> UploadResult:
    """Send every complete line after the saved offset; stop at the first failure."""
    try:
        with settings.cdr_file.open("rb") as handle:
            status = os.fstat(handle.fileno())
            saved = read_position(settings)
            # Another file (rotated) or a shorter one (truncated): start from its beginning.
            fresh = saved.inode != status.st_ino or saved.offset > status.st_size
            start = 0 if fresh else saved.offset
            handle.seek(start)
            data = handle.read()
    except FileNotFoundError:
        return UploadResult(0, 0, 0, 0, ok=True, message="no CDRs yet")
    accepted = duplicates = skipped = rejected = 0
    for batch in _batches(data, start):
        while batch.lines:
            try:
                answer = _post(settings, batch.lines, timeout)
            except Refused as exc:
                if not 0 <= exc.record < len(batch.lines):
                    return UploadResult(accepted, duplicates, skipped, rejected, False, str(exc))
                _set_aside(settings, batch.lines.pop(exc.record))
                rejected += 1
                continue
            except ProvisioningError as exc:
                return UploadResult(accepted, duplicates, skipped, rejected, False, str(exc))
            accepted += int(answer.get("accepted", 0))
            duplicates += int(answer.get("duplicates", 0))
            break
        skipped += batch.skipped
        _save(settings, Position(status.st_ino, batch.end))
    message = f"{accepted} CDR(s) uploaded, {duplicates} already there"
    if skipped:
        message += f", {skipped} line(s) that are not JSON skipped"
    if rejected:
        message += f", {rejected} refused by the provisioner (in {rejected_file(settings)})"
    return UploadResult(accepted, duplicates, skipped, rejected, ok=True, message=message)
