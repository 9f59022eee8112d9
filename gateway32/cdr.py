"""Call detail records: Kamailio's per-attempt events made into durable ``cdr.jsonl`` lines.

Kamailio prints one line on stderr when a call attempt ends: the routing script a
``GW32CDR {json}`` line for a refused, failed or cancelled attempt, the acc module its CDR line
(with the same JSON in ``gw32cdr=``) for an answered call once it is hung up. This module
completes each event into the record of docs/gateway32.md, 'cdr.jsonl', and appends it with
flush + fsync before the next batch is read, so a record that reached the file survives a
power cut.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import IO

MARKER = "GW32CDR "  # refused and failed attempts, from the routing script
ACC_MARKER = "log_write_cdr(): "  # answered calls, from Kamailio's acc module (cdr_extra)
_ACC_CDR = "gw32cdr="
_ACC_END = re.compile(r"(?:^|; )end_time=([0-9.]+)")
_ACC_START = re.compile(r"(?:^|; )start_time=([0-9.]+)")
_ACC_ANSWER = re.compile(r"(?:^|; )gw32answer=([0-9.]+)")
# SIP final response -> Q.850 cause (RFC 3398 section 8.2.6.1), for records the script left open.
_Q850 = {
    400: 41, 401: 21, 402: 21, 403: 21, 404: 1, 405: 63, 406: 79, 407: 21, 408: 102, 410: 22,
    413: 127, 414: 127, 415: 79, 416: 127, 420: 127, 421: 127, 423: 127, 480: 18, 481: 41,
    482: 25, 483: 25, 484: 28, 485: 1, 486: 17, 487: 127, 488: 127, 500: 41, 501: 79, 502: 38,
    503: 41, 504: 102, 505: 127, 513: 127, 600: 17, 603: 21, 604: 1, 606: 58,
}  # fmt: skip


def record_from_line(line: str) -> dict[str, object] | None:
    """The CDR in one line of Kamailio's stderr, or None if the line is not a CDR event."""
    if (at := line.find(MARKER)) >= 0:
        event = _json_object(line[at + len(MARKER) :])
    elif (at := line.find(ACC_MARKER)) >= 0:
        event = _answered(line[at + len(ACC_MARKER) :])
    else:
        return None
    return complete(event) if event is not None else None


def _answered(acc_line: str) -> dict[str, object] | None:
    """acc's CDR of an answered call: its end time, our answer time and the call's JSON."""
    end = _ACC_END.search(acc_line)
    at = acc_line.find(_ACC_CDR)
    event = _json_object(acc_line[at + len(_ACC_CDR) :]) if at >= 0 else None
    if end is None or event is None:
        return None
    answer = _ACC_ANSWER.search(acc_line)
    start = _ACC_START.search(acc_line)
    return {
        **event,
        "answer": (answer and answer.group(1)) or (start and start.group(1)),
        "end": end.group(1),
        "sip_code": 200,
        "q850": 16,
        "result": "answered",
    }


def _json_object(text: str) -> dict[str, object] | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


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
