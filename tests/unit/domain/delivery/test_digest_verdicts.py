"""Digest verdicts on the nonce: ours and fresh, ours and expired, or not ours at all."""

from __future__ import annotations

import time

from provisioner.domain.delivery.digest import (
    NONCE_LIFETIME,
    REALM,
    DigestResponse,
    DigestVerdict,
    NonceMint,
    SpentNonces,
    expected_response,
    verify,
)

USER, PASSWORD, URI = "dev-000b82aa0001", "s3cret-password", "/cfg000b82aa0001.xml"


def _answer(nonce: str, password: str = PASSWORD) -> DigestResponse:
    unsigned = DigestResponse(USER, REALM, nonce, URI, "", "auth", "00000001", "c0ffee", "MD5")
    signed = expected_response(unsigned, password, "GET")
    return DigestResponse(USER, REALM, nonce, URI, signed, "auth", "00000001", "c0ffee", "MD5")


def _verdict(mint: NonceMint, answer: DigestResponse) -> str:
    return verify(SpentNonces(slots=64), mint, answer, USER, PASSWORD, "GET")


def test_a_right_answer_to_a_fresh_nonce_of_ours_is_ok_and_a_wrong_one_bad() -> None:
    mint = NonceMint(b"service key")
    assert _verdict(mint, _answer(mint.issue())) == DigestVerdict.OK
    assert _verdict(mint, _answer(mint.issue(), "guess")) == DigestVerdict.BAD


def test_a_nonce_of_ours_past_its_life_is_stale() -> None:
    mint = NonceMint(b"service key")
    old = mint.issue(time.time() - NONCE_LIFETIME - 10)
    assert _verdict(mint, _answer(old)) == DigestVerdict.STALE


def test_a_right_answer_to_a_nonce_we_cannot_read_is_stale_a_wrong_one_bad() -> None:
    """Another key (a deploy that changed it, an instance configured apart) or a nonce made
    up: only the device can answer it right, and it then just needs a fresh nonce."""
    other = NonceMint(b"another key")
    mint = NonceMint(b"service key")
    assert mint.age(other.issue()) is None
    assert _verdict(mint, _answer(other.issue())) == DigestVerdict.STALE
    assert _verdict(mint, _answer("made-up")) == DigestVerdict.STALE
    assert _verdict(mint, _answer(other.issue(), "guess")) == DigestVerdict.BAD
    assert _verdict(mint, _answer("made-up", "guess")) == DigestVerdict.BAD


def test_a_nonce_from_the_future_is_bad() -> None:
    mint = NonceMint(b"service key")
    assert _verdict(mint, _answer(mint.issue(time.time() + 60))) == DigestVerdict.BAD
