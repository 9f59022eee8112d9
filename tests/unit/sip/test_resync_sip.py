"""The SIP pieces of the resync on their own: Digest answers and response parsing."""

from __future__ import annotations

import pytest

from provisioner.sip.digest import Challenge, DigestError, authorization, parse_challenge
from provisioner.sip.message import build_request, parse_response
from provisioner.sip.transaction import TransactionKey

RESPONSE = (
    b"SIP/2.0 401 Unauthorized\r\n"
    b"v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;rport=5060,"
    b" SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKother\r\n"
    b"i: 1234@example\r\n"
    b"CSeq:  2   notify\r\n"
    b'WWW-Authenticate: Digest realm="phone",\r\n'
    b'  nonce="abc", qop="auth"\r\n'
    b"Content-Length: 0\r\n\r\n"
)


def test_the_rfc_2617_example_is_answered() -> None:
    challenge = parse_challenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    header = authorization(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
        cnonce="0a4f113b",
    )
    assert 'response="6629fae49393a05397450978507c4ef1"' in header
    assert "qop=auth," in header
    assert "nc=00000001" in header
    assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header
    assert header.index('nonce="') < header.index('cnonce="')  # SIPp 3.6 reads the first


def test_without_qop_the_rfc_2069_response_is_sent() -> None:
    header = authorization(
        Challenge(realm="r", nonce="n"), method="NOTIFY", uri="sip:u@h", username="u", password="p"
    )
    # MD5(MD5("u:r:p") + ":n:" + MD5("NOTIFY:sip:u@h"))
    assert 'response="a5e01eb27c798a62c08b6259d4489e9c"' in header
    assert "cnonce" not in header
    assert "qop" not in header


def test_a_challenge_is_read_with_quotes_escapes_and_bare_values() -> None:
    challenge = parse_challenge(
        'Digest realm="a \\"quoted\\", realm", nonce=xyz, algorithm=md5, stale=FALSE, qop="auth"'
    )
    assert challenge == Challenge('a "quoted", realm', "xyz", None, "md5", ("auth",))


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ('Basic realm="phone"', "not Digest"),
        ('Digest realm="r", nonce="n", algorithm=SHA-256', "only MD5"),
        ('Digest realm="r", nonce="n", qop="auth-int"', "only auth"),
        ('Digest realm="r"', "no nonce"),
        ('Digest realm="r", nonce="n", = ,', "cannot read"),
        ("", "not Digest"),
    ],
)
def test_a_challenge_we_cannot_answer_says_why(value: str, why: str) -> None:
    with pytest.raises(DigestError, match=why):
        parse_challenge(value)


def test_a_response_is_parsed_with_compact_and_folded_headers() -> None:
    response = parse_response(RESPONSE)
    assert response is not None
    assert (response.status, response.reason) == (401, "Unauthorized")
    assert response.branch == "z9hG4bKabc"  # the topmost Via only
    assert response.cseq == (2, "NOTIFY")
    assert response.first("Call-ID") == "1234@example"
    assert response.first("www-authenticate") == 'Digest realm="phone", nonce="abc", qop="auth"'
    assert TransactionKey("z9hG4bKabc", "1234@example", 2, "NOTIFY").matches(response)
    assert not TransactionKey("z9hG4bKabc", "1234@example", 1, "NOTIFY").matches(response)
    assert not TransactionKey("z9hG4bKother", "1234@example", 2, "NOTIFY").matches(response)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"NOTIFY sip:u@h SIP/2.0\r\nCall-ID: x\r\n\r\n",  # a request, not a response
        b"SIP/2.0 2000 OK\r\n\r\n",
        b"SIP/1.0 200 OK\r\n\r\n",
        b"SIP/2.0 200 OK\r\nnot a header\r\n\r\n",
        b"SIP/2.0 200 OK\r\n folded before any header\r\n\r\n",
        b"SIP/2.0 200 \x1b[2J\x1b[31mOK\r\n\r\n",  # terminal escapes in the reason
        b"SIP/2.0 200 OK\r\nCall-ID: a\rb\r\n\r\n",
    ],
)
def test_anything_but_a_response_is_none(data: bytes) -> None:
    assert parse_response(data) is None


def test_a_response_without_the_transaction_headers_matches_nothing() -> None:
    response = parse_response(b"SIP/2.0 200 OK\r\nCSeq: one NOTIFY\r\n\r\n")
    assert response is not None
    assert response.branch is None
    assert response.cseq is None
    assert not TransactionKey("z9hG4bK1", "c", 1, "NOTIFY").matches(response)


def test_a_header_value_cannot_add_a_line() -> None:
    with pytest.raises(ValueError, match="line break"):
        build_request("NOTIFY", "sip:u@h", [("Event", "check-sync\r\nX-Evil: 1")])
    message = build_request("NOTIFY", "sip:u@h", [("Event", "check-sync")])
    assert message == b"NOTIFY sip:u@h SIP/2.0\r\nEvent: check-sync\r\nContent-Length: 0\r\n\r\n"
