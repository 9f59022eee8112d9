"""The licence document: what the provisioner signs, the gateway accepts; anything else is named."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway32.licence import (
    Licence,
    LicenceError,
    issue,
    load_public_key,
    public_key_pem,
    verify,
)

KEY = Ed25519PrivateKey.generate()
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
TERMS = Licence(
    serial="GW32-0001",
    tenant="acme",
    gateway="0011223344ab",
    channels=32,
    not_before=NOW - dt.timedelta(days=1),
    expires=NOW + dt.timedelta(days=365),
)


def test_issued_licence_verifies_with_the_public_pem() -> None:
    issuer = load_public_key(public_key_pem(KEY))
    assert verify(issue(TERMS, KEY), issuer, gateway="0011223344ab", now=NOW) == TERMS


@pytest.mark.parametrize(("field", "value"), [("channels", 33), ("tenant", "other"),
                                               ("expires", "2099-01-01T00:00:00Z")])  # fmt: skip
def test_tampered_terms_are_refused(field: str, value: object) -> None:
    document = json.loads(issue(TERMS, KEY))
    document["licence"][field] = value
    with pytest.raises(LicenceError, match="signature does not match"):
        verify(json.dumps(document).encode(), KEY.public_key(), now=NOW)


def test_foreign_issuer_is_refused() -> None:
    with pytest.raises(LicenceError, match="not issued by"):
        verify(issue(TERMS, Ed25519PrivateKey.generate()), KEY.public_key(), now=NOW)


def test_licence_for_another_gateway_is_refused() -> None:
    with pytest.raises(LicenceError, match="is for gateway 0011223344ab, not this one"):
        verify(issue(TERMS, KEY), KEY.public_key(), gateway="aabbccddeeff", now=NOW)


@pytest.mark.parametrize(
    ("moment", "message"),
    [(NOW + dt.timedelta(days=366), "expired at 2027-12-01T00:00:00Z"),
     (NOW - dt.timedelta(days=2), "not valid before 2026-11-30T00:00:00Z")],
)  # fmt: skip
def test_licence_outside_its_dates_is_refused(moment: dt.datetime, message: str) -> None:
    with pytest.raises(LicenceError, match=message):
        verify(issue(TERMS, KEY), KEY.public_key(), now=moment)


@pytest.mark.parametrize(
    ("document", "message"),
    [(b"\xff\xfe", "not a JSON document"), (b"[]", "no 'licence' object"),
     (b'{"licence": {"serial": "X"}}', "must be exactly"),
     (json.dumps({"licence": TERMS.terms(), "signature": "***"}).encode(), "not base64"),
     (json.dumps({"licence": TERMS.terms(),
                  "signature": base64.b64encode(b"x" * 64).decode()}).encode(), "does not match")],
)  # fmt: skip
def test_malformed_documents_are_refused(document: bytes, message: str) -> None:
    with pytest.raises(LicenceError, match=message):
        verify(document, KEY.public_key(), now=NOW)


@pytest.mark.parametrize(("change", "message"), [({"channels": 12}, "one of"),
                                                  ({"serial": "bad serial"}, "serial"),
                                                  ({"gateway": "00:11"}, "MAC")])  # fmt: skip
def test_invalid_terms_cannot_be_issued(change: dict[str, object], message: str) -> None:
    with pytest.raises(LicenceError, match=message):
        Licence(**{**TERMS.__dict__, **change})


def test_a_key_that_is_not_ed25519_is_refused() -> None:
    with pytest.raises(LicenceError, match="not a PEM"):
        load_public_key(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
