"""The delivery pipeline's stages: each refusal raised by the stage that decides it, and
settled once by ``deliver`` into the Delivery, metrics, rate-limit charge and timeline event
it has always had; the preview of ``provisioner render`` touches none of that."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from provisioner import metrics
from provisioner.app.service import Service
from provisioner.db.models import Device
from provisioner.domain.delivery import pipeline
from provisioner.domain.delivery.digest import REALM, DigestResponse, expected_response
from provisioner.domain.delivery.fetches import Refusal
from provisioner.domain.delivery.pipeline import Delivery, Fetch, Outcome, Provisioner
from provisioner.domain.delivery.ratelimit import Cost, SourceLimiter
from provisioner.domain.delivery.render_cache import RenderCache
from provisioner.domain.errors import Invalid, NotFound
from provisioner.domain.inventory import devices, lifecycle
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.domain.timeline import Event
from provisioner.vendors import gateway32
from provisioner.vendors.base import RenderError

GS_MAC, OTHER_MAC, UNKNOWN_MAC = "000b82aa0001", "000b82aa0002", "000b82ffffff"
BENCH, FIELD = "127.0.0.1", "192.0.2.10"  # the default staging networks hold loopback only
GS_FILE = f"cfg{GS_MAC}.xml"


@dataclass
class Seen:
    """What settling did: metric calls and timeline events, in order."""

    refusals: list[tuple[str, str]] = field(default_factory=list)
    fetches: list[tuple[str, str]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def record(self, event: Event) -> None:  # stands in for the timeline writer
        self.events.append(event)


@pytest.fixture
def provisioner(service: Service) -> Provisioner:
    rows = [
        {"tenant": "acme", "extension": ext, "display_name": ext, "mac": mac,
         "model": "GXP1610", "port": "1"}
        for ext, mac in (("1001", GS_MAC), ("1002", OTHER_MAC))
    ]  # fmt: skip
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows(rows), actor="test").ok
    return service.provisioner


@pytest.fixture
def seen(provisioner: Provisioner, monkeypatch: pytest.MonkeyPatch) -> Seen:
    spy = Seen()
    monkeypatch.setattr(metrics, "count_refusal", lambda *labels: spy.refusals.append(labels))
    monkeypatch.setattr(metrics, "count_fetch", lambda *labels: spy.fetches.append(labels))
    provisioner.timeline = spy  # type: ignore[assignment]
    # No refill: a charge or refund shows as an exact change of the bucket.
    provisioner.admission.limiter = SourceLimiter(capacity=300, refill_per_second=0.0)
    return spy


def tokens(provisioner: Provisioner, source: str) -> float:
    """What is left in the source's bucket (a charge or refund shows as a change)."""
    limiter = provisioner.admission.limiter
    limiter.refund(source, 0)
    return limiter._buckets[source].tokens


def digest(provisioner: Provisioner, mac: str, password: str | None = None) -> DigestResponse:
    """A Digest answer as the device would send it (with its own password unless given)."""
    with provisioner.db.session() as session:
        device = session.scalars(select(Device).where(Device.mac == mac)).one()
        user, encrypted = device.http_user, device.http_password_encrypted
    assert user
    assert encrypted
    answer = DigestResponse(
        username=user, realm=REALM, nonce=provisioner.mint.issue(), uri=f"/cfg{mac}.xml",
        response="", qop="auth", nc="00000001", cnonce="c0ffee", algorithm="MD5",
    )  # fmt: skip
    secret = password if password is not None else provisioner.box.decrypt(encrypted)
    return answer._replace(response=expected_response(answer, secret, "GET"))


def settled_once(seen: Seen, fetch: Fetch, label: str | None) -> None:
    """One fetch counted; one refusal counted under ``label`` (none for a failure)."""
    assert seen.fetches == [(fetch.protocol, seen.fetches[0][1])]
    assert seen.refusals == ([(fetch.protocol, label)] if label else [])


# --- admission ---------------------------------------------------------------------------


def test_a_locked_out_source_gets_only_the_chance_to_prove_a_device_and_is_not_charged_again(
    provisioner: Provisioner, seen: Seen
) -> None:
    scan = Fetch("cfg.xml", "http", FIELD)
    while not provisioner.admission.limiter.charge(FIELD, Cost.BAD_CREDENTIALS):
        pass
    assert provisioner.admission.locked(scan)
    before = tokens(provisioner, FIELD)
    assert provisioner.deliver(scan) == Delivery(Outcome.LOCKED, reason="locked out")
    settled_once(seen, scan, "locked_out")
    assert tokens(provisioner, FIELD) == before
    # A device's own file: the challenge (the same for every MAC), then a correct answer.
    assert provisioner.deliver(Fetch(GS_FILE, "http", FIELD)).outcome is Outcome.UNAUTHORIZED
    proof = Fetch(GS_FILE, "http", FIELD, digest=digest(provisioner, GS_MAC))
    assert provisioner.deliver(proof).outcome is Outcome.SERVED
    wrong = Fetch(GS_FILE, "http", FIELD, digest=digest(provisioner, GS_MAC, "wrong"))
    assert provisioner.deliver(wrong).outcome is Outcome.LOCKED  # no oracle while locked


def test_the_bench_is_never_locked_out(provisioner: Provisioner, seen: Seen) -> None:
    while not provisioner.admission.limiter.charge(BENCH, Cost.BAD_CREDENTIALS):
        pass
    assert provisioner.deliver(Fetch(GS_FILE, "http", BENCH)).outcome is Outcome.SERVED


# --- identification ----------------------------------------------------------------------


def test_an_unknown_file_name_is_refused_by_identification_and_costs_a_scan(
    provisioner: Provisioner, seen: Seen
) -> None:
    fetch = Fetch("/etc/passwd", "http", FIELD)
    with pytest.raises(Refusal) as refused:
        provisioner._identify(fetch, staging=False)
    assert (refused.value.outcome, refused.value.cost) == (Outcome.NOT_FOUND, Cost.UNKNOWN_NAME)
    before = tokens(provisioner, FIELD)
    assert provisioner.deliver(fetch) == Delivery(Outcome.NOT_FOUND, reason="no such file name")
    settled_once(seen, fetch, "unknown_file")
    assert tokens(provisioner, FIELD) == before - Cost.UNKNOWN_NAME
    assert seen.events == []


def test_a_user_agent_naming_another_mac_is_refused_and_told_on_the_file_s_device(
    provisioner: Provisioner, seen: Seen
) -> None:
    agent = f"Grandstream Model HW GXP1610 SW 1.0.7.13 DevId {OTHER_MAC}"
    fetch = Fetch(GS_FILE, "http", BENCH, user_agent=agent)
    with pytest.raises(Refusal) as refused:
        provisioner._identify(fetch, staging=True)
    assert refused.value.record_on == GS_MAC
    delivery = provisioner.deliver(fetch)
    assert delivery.outcome is Outcome.FORBIDDEN
    assert delivery.reason == f"User-Agent MAC {OTHER_MAC} asked for the file of {GS_MAC}"
    settled_once(seen, fetch, "user_agent_mismatch")
    [event] = seen.events
    assert (event.mac, event.kind, event.status, event.detail) == (
        GS_MAC, "refused", 403, delivery.reason,
    )  # fmt: skip


# --- authorization -----------------------------------------------------------------------


def test_the_bench_asking_for_an_unknown_device_is_refused_by_authorization(
    provisioner: Provisioner, seen: Seen
) -> None:
    fetch = Fetch(f"cfg{UNKNOWN_MAC}.xml", "http", BENCH)
    with pytest.raises(Refusal):
        provisioner._authorize(provisioner._identify(fetch, staging=True))
    before = tokens(provisioner, BENCH)
    assert provisioner.deliver(fetch) == Delivery(Outcome.NOT_FOUND, reason="unknown device")
    settled_once(seen, fetch, "unknown_device")
    assert tokens(provisioner, BENCH) == before  # the bench is never charged


def test_tftp_off_the_bench_gets_no_device_file(provisioner: Provisioner, seen: Seen) -> None:
    fetch = Fetch(GS_FILE, "tftp", FIELD)
    with pytest.raises(Refusal):
        provisioner._authorize(provisioner._identify(fetch, staging=False))
    delivery = provisioner.deliver(fetch)
    assert delivery == Delivery(Outcome.NOT_FOUND, reason="not on a staging network")
    settled_once(seen, fetch, "wrong_network")


@pytest.mark.parametrize(
    ("mac", "password", "label", "cost"),
    [
        (GS_MAC, None, "no_credentials", Cost.ROUTINE),  # no Authorization at all
        (GS_MAC, "wrong", "bad_credentials", Cost.BAD_CREDENTIALS),
        (UNKNOWN_MAC, None, "no_credentials", Cost.ROUTINE),  # looks like a known one
    ],
)
def test_off_the_bench_http_without_proof_is_challenged(
    provisioner: Provisioner, seen: Seen, mac: str, password: str | None, label: str, cost: Cost
) -> None:
    answer = digest(provisioner, GS_MAC, password) if password else None
    fetch = Fetch(f"cfg{mac}.xml", "http", FIELD, digest=answer)
    before = tokens(provisioner, FIELD)
    delivery = provisioner.deliver(fetch)
    assert delivery.outcome is Outcome.UNAUTHORIZED
    assert delivery.challenge is not None
    assert delivery.challenge.startswith(f'Digest realm="{REALM}", qop="auth"')
    settled_once(seen, fetch, label)
    assert tokens(provisioner, FIELD) == before - cost


def test_wrong_credentials_and_a_first_contact_from_elsewhere_are_told_once_per_device(
    provisioner: Provisioner, seen: Seen
) -> None:
    wrong = Fetch(GS_FILE, "http", FIELD, digest=digest(provisioner, GS_MAC, "wrong"))
    for _ in range(3):  # a phone retrying: told once
        assert provisioner.deliver(wrong).outcome is Outcome.UNAUTHORIZED
    assert provisioner.deliver(Fetch(GS_FILE, "http", FIELD)).outcome is Outcome.UNAUTHORIZED
    guess = Fetch(f"cfg{UNKNOWN_MAC}.xml", "http", FIELD, digest=digest(provisioner, GS_MAC, "x"))
    assert provisioner.deliver(guess).outcome is Outcome.UNAUTHORIZED  # no device to tell
    assert [(e.mac, e.kind, e.status, e.detail, e.source) for e in seen.events] == [
        (GS_MAC, "refused", 401, "credentials bad", FIELD),
    ]  # the credential-less first leg of a Digest fetch is routine: never told

    with provisioner.db.session() as session:  # shipped to a tenant that allows only 198.51.100/24
        device = session.scalars(select(Device).where(Device.mac == OTHER_MAC)).one()
        device.tenant.allowed_networks = ["198.51.100.0/24"]
        for action in (lifecycle.Action.STAGE, lifecycle.Action.SHIP):
            lifecycle.apply(session, provisioner.box, device, action, actor="test")
    provisioner.devices = RenderCache(provisioner.db.render_changes)
    first_contact = Fetch(f"cfg{OTHER_MAC}.xml", "http", FIELD)
    for _ in range(2):
        delivery = provisioner.deliver(first_contact)
        assert delivery.outcome is Outcome.UNAUTHORIZED
        assert delivery.challenge is not None  # the same answer as any other 401
    assert [(e.mac, e.detail, e.source) for e in seen.events[1:]] == [
        (OTHER_MAC, "network not allowed", FIELD),
    ]
    assert seen.refusals[-1] == ("http", "no_credentials")  # the metric's labels stay as they were


def test_the_device_s_own_digest_is_served_and_its_challenge_refunded(
    provisioner: Provisioner, seen: Seen
) -> None:
    provisioner.admission.limiter.charge(FIELD, Cost.ROUTINE)  # the challenge before
    before = tokens(provisioner, FIELD)
    fetch = Fetch(GS_FILE, "http", FIELD, digest=digest(provisioner, GS_MAC))
    delivery = provisioner.deliver(fetch)
    assert delivery.outcome is Outcome.SERVED
    assert seen.fetches == [("http", "served")]
    assert seen.refusals == []
    assert tokens(provisioner, FIELD) == before + Cost.ROUTINE
    [event] = seen.events
    assert (event.mac, event.kind, event.status) == (GS_MAC, "fetch", 200)


# --- rendering ---------------------------------------------------------------------------


def test_a_file_no_device_is_served_is_a_routine_refusal_of_rendering(
    provisioner: Provisioner, seen: Seen, caplog: pytest.LogCaptureFixture
) -> None:
    fetch = Fetch(f"cfg{GS_MAC}", "http", FIELD)  # the legacy binary name: never served
    with caplog.at_level(logging.INFO, "provisioner.security"):
        delivery = provisioner.deliver(fetch)
    assert delivery == Delivery(Outcome.NOT_FOUND, reason="legacy_binary file not served")
    settled_once(seen, fetch, "not_served")
    assert [record.levelno for record in caplog.records] == [logging.INFO]


def test_a_file_that_cannot_be_rendered_fails_without_blaming_the_source(
    provisioner: Provisioner, seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RenderError("template broken")

    monkeypatch.setattr(pipeline, "render_file", broken)
    fetch = Fetch(GS_FILE, "http", BENCH)
    before = tokens(provisioner, BENCH)
    assert provisioner.deliver(fetch) == Delivery(Outcome.FAILED, reason="template broken")
    settled_once(seen, fetch, None)
    assert seen.fetches == [("http", "failed")]
    assert tokens(provisioner, BENCH) == before


def test_the_bench_variant_carries_the_credentials_the_field_variant_does_not(
    provisioner: Provisioner, seen: Seen
) -> None:
    bench = provisioner.deliver(Fetch(GS_FILE, "http", BENCH))
    field_ = provisioner.deliver(Fetch(GS_FILE, "http", FIELD, digest=digest(provisioner, GS_MAC)))
    assert bench.outcome is field_.outcome is Outcome.SERVED
    assert bench.body != field_.body
    assert seen.refusals == []


# --- the preview -------------------------------------------------------------------------


class Untouchable:
    """Stands in for everything a real fetch shares: any use of it fails the test."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the preview used {name}")

    @staticmethod
    def fail(*_: object) -> None:
        raise AssertionError("the preview observed a render")


def test_the_preview_is_the_bench_s_bytes_and_touches_nothing_a_fetch_shares(
    provisioner: Provisioner, seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = provisioner.deliver(Fetch(GS_FILE, "http", BENCH))
    seen.fetches.clear()
    seen.events.clear()
    for shared in ("cache", "devices", "firmware", "admission", "timeline"):
        monkeypatch.setattr(provisioner, shared, Untouchable())
    monkeypatch.setattr(metrics, "observe_render", Untouchable.fail)
    assert provisioner.preview(GS_MAC) == served.body
    assert provisioner.preview(GS_MAC, GS_FILE) == served.body
    assert seen == Seen()


def test_the_preview_refuses_an_unknown_device_and_another_device_s_file(
    provisioner: Provisioner,
) -> None:
    with pytest.raises(NotFound, match=f"no device {UNKNOWN_MAC}"):
        provisioner.preview(UNKNOWN_MAC)
    with pytest.raises(
        Invalid, match=re.escape(f"cfg{OTHER_MAC}.xml is not a file device {GS_MAC}")
    ):
        provisioner.preview(GS_MAC, f"cfg{OTHER_MAC}.xml")
    with pytest.raises(Invalid, match="is not a file device"):
        provisioner.preview(GS_MAC, "/etc/passwd")
    with pytest.raises(NotFound, match=re.escape("cfgGXP1610.xml is not served to device")):
        provisioner.preview(GS_MAC, "cfgGXP1610.xml")  # its model's file, like a fetch: 404
    with pytest.raises(Invalid, match="is not a file device"):
        provisioner.preview(GS_MAC, f"Config{GS_MAC.upper()}.cfg")  # Panasonic's name


def test_the_preview_refuses_a_retired_device_and_a_gateway(
    service: Service, provisioner: Provisioner
) -> None:
    gateway_mac = "02aa00000001"
    with service.db.session() as session:
        devices.create_device(session, service.box, mac=gateway_mac, model=gateway32.MODEL)
        retired = session.scalars(select(Device).where(Device.mac == OTHER_MAC)).one()
        lifecycle.apply(session, service.box, retired, lifecycle.Action.RETIRE, actor="test")
    with pytest.raises(NotFound, match=f"device {OTHER_MAC} is retired"):
        provisioner.preview(OTHER_MAC)
    with pytest.raises(Invalid, match="gateway config"):
        provisioner.preview(gateway_mac)
