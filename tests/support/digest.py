"""The Digest answer a phone computes from a challenge (RFC 7616, MD5, qop=auth), for tests
that speak HTTP themselves instead of through curl's ``--digest``."""

from __future__ import annotations

import hashlib
import secrets


def digest_header(
    challenge: str, user: str, password: str, uri: str, nc: str = "00000001", method: str = "GET"
) -> str:
    """The Authorization header answering ``challenge`` (a WWW-Authenticate value)."""
    nonce = challenge.split('nonce="', 1)[1].split('"', 1)[0]
    cnonce = secrets.token_hex(8)

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - the protocol's hash

    ha1, ha2 = md5(f"{user}:provisioning:{password}"), md5(f"{method}:{uri}")
    response = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{user}", realm="provisioning", nonce="{nonce}", uri="{uri}", '
        f'qop=auth, nc={nc}, cnonce="{cnonce}", response="{response}", algorithm=MD5'
    )
