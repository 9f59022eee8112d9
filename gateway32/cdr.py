"""Call detail records: Kamailio's per-attempt events made into durable ``cdr.jsonl`` lines.

Kamailio's script prints one ``GW32CDR {json}`` line on stderr when a call attempt ends (refused,
failed, cancelled or hung up). This module completes each event into the record of the contract
in COORDINATION.md and appends it with flush + fsync before the next batch is read, so a record
that reached the file survives a power cut.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import IO

MARKER = "GW32CDR "
# SIP final response -> Q.850 cause (RFC 3398 section 8.2.6.1), for records the script left open.
_Q850 = {
    400: 41, 401: 21, 402: 21, 403: 21, 404: 1, 405: 63, 406: 79, 407: 21, 408: 102, 410: 22,
    413: 127, 414: 127, 415: 79, 416: 127, 420: 127, 421: 127, 423: 127, 480: 18, 481: 41,
    482: 25, 483: 25, 484: 28, 485: 1, 486: 17, 487: 127, 488: 127, 500: 41, 501: 79, 502: 38,
    503: 41, 504: 102, 505: 127, 513: 127, 600: 17, 603: 21, 604: 1, 606: 58,
}  # fmt: skip


def record_from_line(line: str) -> dict[str, object] | None:
    """The CDR in one line of Kamailio's stderr, or None if the line is not a CDR event."""
    at = line.find(MARKER)
    if at < 0:
        return None
    try:
        event = json.loads(line[at + len(MARKER) :])
    except json.JSONDecodeError:
        return None
    if not isinstance(event, dict):
        return None
    return complete(event)


def complete(event: dict[str, object]) -> dict[str, object]:
    code = int(str(event.get("sip_code", 0)))
    result = str(event.get("result") or _result(code))
    q850 = event.get("q850")
    if q850 is None:
        q850 = 16 if result == "answered" else _Q850.get(code)
    return {
        "call_id": str(event.get("call_id", "")),
        "direction": str(event.get("direction", "")),
        "did": str(event.get("did", "")),
        "tenant": str(event.get("tenant", "")),
        "from": str(event.get("from", "")),
        "to": str(event.get("to", "")),
        "start": _iso(event.get("start")),
        "answer": _iso(event.get("answer")) if event.get("answer") else None,
        "end": _iso(event.get("end")),
        "result": result,
        "sip_code": code,
        "q850": q850,
        "channels_in_use": int(str(event.get("channels_in_use", 0))),
        "emergency": bool(event.get("emergency")),
    }


def _result(code: int) -> str:
    if 200 <= code < 300:
        return "answered"
    if code in (486, 600):
        return "busy"
    if code in (408, 480, 487):
        return "no_answer"
    return "failed"


def _iso(seconds: object) -> str:
    """Kamailio's ``$TV(Sn)`` ("1764614400.123456") as UTC ISO 8601 with milliseconds."""
    moment = dt.datetime.fromtimestamp(float(str(seconds)), dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class CdrFile:
    """``cdr.jsonl`` opened for appending; each batch is on disk when :meth:`append` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] = path.open("a", encoding="utf-8")

    def append(self, records: list[dict[str, object]]) -> None:
        if not records:
            return
        self._handle.write(
            "".join(
                json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records
            )
        )
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()
