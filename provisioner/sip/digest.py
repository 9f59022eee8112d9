"""HTTP Digest as SIP uses it (RFC 3261 §22.4, RFC 2617): MD5, with ``qop=auth`` if offered.

The devices challenge our NOTIFY with a 401 (or 407) and we answer with the SIP credentials
of their line 1. Only what the phones offer is implemented: MD5 with or without ``qop=auth``;
any other challenge is refused with :class:`DigestError` rather than answered wrongly.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from provisioner.domain.delivery.digest import DigestResponse, expected_response

_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*(?:,|$)')


class DigestError(ValueError):
    """A challenge we cannot or will not answer (says why)."""


@dataclass(frozen=True)
class Challenge:
    realm: str
    nonce: str
    opaque: str | None = None
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()  # the qop options offered, lower case


def parse_challenge(value: str) -> Challenge:
    """A ``WWW-Authenticate`` or ``Proxy-Authenticate`` value; DigestError if not usable."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise DigestError(f"the device asks for {scheme or 'an empty'} authentication, not Digest")
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        found = _PARAM.match(rest, position)
        if found is None or found.end() == position:
            raise DigestError(f"cannot read the challenge {value!r}")
        raw = found[2]
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[found[1].lower()] = raw
        position = found.end()
    if "realm" not in params or "nonce" not in params:
        raise DigestError("the challenge has no realm or no nonce")
    algorithm = params.get("algorithm", "MD5")
    if algorithm.upper() != "MD5":
        raise DigestError(f"the device wants Digest algorithm {algorithm}; only MD5 is supported")
    qop = tuple(o.strip().lower() for o in params.get("qop", "").split(",") if o.strip())
    if qop and "auth" not in qop:
        raise DigestError(f"the device offers qop {','.join(qop)}; only auth is supported")
    return Challenge(params["realm"], params["nonce"], params.get("opaque"), algorithm, qop)


def authorization(
    challenge: Challenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str | None = None,
    nonce_count: int = 1,
) -> str:
    """The ``Authorization`` (or ``Proxy-Authorization``) value answering the challenge.

    ``nonce`` comes before ``cnonce``: some parsers (SIPp 3.6's among them) find the first
    ``nonce=`` substring, which would otherwise be the cnonce.
    """
    fields = [
        f'username="{_quoted(username)}"',
        f'realm="{_quoted(challenge.realm)}"',
        f'nonce="{_quoted(challenge.nonce)}"',
        f'uri="{_quoted(uri)}"',
    ]
    qop = "auth" if "auth" in challenge.qop else None
    cnonce = (cnonce or secrets.token_hex(8)) if qop else None
    nc = f"{nonce_count:08x}" if qop else None
    answer = DigestResponse(username, challenge.realm, challenge.nonce, uri, "", qop, nc, cnonce)
    fields.append(f'response="{expected_response(answer, password, method)}"')
    if qop:
        fields += [f'cnonce="{cnonce}"', f"nc={nc}", "qop=auth"]
    fields.append(f"algorithm={challenge.algorithm}")
    if challenge.opaque is not None:
        fields.append(f'opaque="{_quoted(challenge.opaque)}"')
    return "Digest " + ", ".join(fields)


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
