"""SIP messages as a client needs them: build a request, parse a response (RFC 3261 §7).

Whatever arrives on our port may come from anyone, so parsing never raises: anything that
is not a well-formed ``SIP/2.0`` response (a request, a truncated datagram, binary noise,
control characters that would reach an operator's terminal through a reason phrase) is
``None``. Building refuses a value that would break its line, so no inventory value can
inject a header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# RFC 3261 §7.3.3 compact forms of the headers a response to us carries.
_COMPACT = {
    "v": "via",
    "i": "call-id",
    "f": "from",
    "t": "to",
    "l": "content-length",
    "m": "contact",
    "o": "event",
    "c": "content-type",
}
_STATUS_LINE = re.compile(r"SIP/2\.0 ([1-6][0-9][0-9])(?: (.*))?")
_HEADER = re.compile(r"([A-Za-z0-9!%*_+`'~.-]+)[ \t]*:[ \t]*(.*)")
_CSEQ = re.compile(r"([0-9]{1,10})[ \t]+([A-Za-z]+)")
_LINE_BREAK = re.compile(r"\r?\n")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # never in SIP text: HTAB is the only one


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]  # (full name in lower case, value), in order

    def values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key == wanted]

    def first(self, name: str) -> str | None:
        found = self.values(name)
        return found[0] if found else None

    @property
    def branch(self) -> str | None:
        """The branch of the topmost Via: the transaction this answers."""
        via = self.first("via")
        return parameter(via.split(",", 1)[0], "branch") if via else None

    @property
    def cseq(self) -> tuple[int, str] | None:
        found = _CSEQ.fullmatch((self.first("cseq") or "").strip())
        return (int(found[1]), found[2].upper()) if found else None


def parse_response(data: bytes) -> Response | None:
    """The response in one datagram, or None for anything that is not one."""
    head = re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0]
    text = head.decode("utf-8", errors="replace")
    lines = _LINE_BREAK.split(text)
    status = _STATUS_LINE.fullmatch(lines[0])
    if status is None or any(_CONTROL.search(line) for line in lines):
        return None
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):  # folded continuation of the previous header
            if not headers:
                return None
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        found = _HEADER.fullmatch(line)
        if found is None:
            return None
        name = found[1].lower()
        headers.append((_COMPACT.get(name, name), found[2].strip()))
    return Response(int(status[1]), (status[2] or "").strip(), tuple(headers))


def parameter(value: str, name: str) -> str | None:
    """A ``;name=value`` parameter of a header value (Via, From, To), case-insensitive name."""
    for part in value.split(";")[1:]:
        key, _, found = part.partition("=")
        if key.strip().lower() == name:
            return found.strip()
    return None


def build_request(
    method: str, uri: str, headers: Iterable[tuple[str, str]], body: bytes = b""
) -> bytes:
    """A request with Content-Length last; a CR or LF in any part is refused."""
    lines = [f"{method} {uri} SIP/2.0"]
    lines += [f"{name}: {value}" for name, value in headers]
    if any("\r" in line or "\n" in line for line in lines):
        raise ValueError("a SIP header value may not contain a line break")
    lines += [f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode("utf-8") + body
