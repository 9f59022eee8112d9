"""The resync's domain side: targets, refusals, vendor events, and "did it apply?"."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.db.models import Device, DeviceEvent
from provisioner.domain.delivery.pipeline import Fetch, Outcome
from provisioner.domain.delivery.resync import (
    Applied,
    NotifyAnswer,
    NotifyRequest,
    Target,
    latest_notify,
    parse_target,
    registered_contact,
    resync_device,
    resync_if_changed,
    resync_status,
    timeline_text,
)
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.sip.notify import send_notify
from provisioner.vendors import grandstream, panasonic
from tests.support.caches import follow_every_change

GS_MAC, PANA_MAC = "000b82aa0001", "0080f0aa0002"
T0 = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def device_id(service: Service) -> int:
    rows = [
        {"tenant": "acme", "extension": "1001", "display_name": "A", "mac": GS_MAC,
         "model": "GXP1610", "port": "1"},
        {"tenant": "acme", "extension": "1002", "display_name": "B", "mac": PANA_MAC,
         "model": "KX-HDV230", "port": "1"},
    ]  # fmt: skip
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows(rows), actor="test").ok
        return session.scalars(select(Device.id).where(Device.mac == GS_MAC)).one()


def add_event(service: Service, device_id: int, minutes: int, kind: str, **values: object) -> None:
    with service.db.session() as session:
        at = T0 + dt.timedelta(minutes=minutes)
        session.add(DeviceEvent(device_id=device_id, at=at, kind=kind, **values))


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("192.0.2.10:5062", Target("192.0.2.10", 5062)),
        ("192.0.2.10", Target("192.0.2.10", 5060)),
        ("phone.example:5070", Target("phone.example", 5070)),
        ("[2001:db8::1]:5062", Target("2001:db8::1", 5062)),
        ("[2001:db8::1]", Target("2001:db8::1", 5060)),
        ("2001:db8::1", Target("2001:db8::1", 5060)),
    ],
)
def test_a_target_is_read(text: str, target: Target) -> None:
    assert parse_target(text) == target
    assert parse_target(str(target)) == target


@pytest.mark.parametrize("text", ["", ":5060", "host:0", "host:65536", "host:sip", "[::1]x"])
def test_a_bad_target_is_refused(text: str) -> None:
    with pytest.raises(Invalid, match="HOST:PORT"):
        parse_target(text)


def test_the_vendors_resync_events() -> None:
    for module in (grandstream.VENDOR, panasonic.VENDOR):
        assert module.resync_event(reboot=False) == "check-sync"
        assert module.resync_event(reboot=True) == "check-sync;reboot=true"


def test_panasonic_acts_on_the_event_it_is_sent(service: Service, device_id: int) -> None:
    """CFG_RESYNC_FROM_SIP in the file is the Event header the NOTIFY carries."""
    filename = f"Config{PANA_MAC.upper()}.cfg"
    delivery = service.provisioner.deliver(Fetch(path=filename, protocol="cli", source="cli"))
    assert delivery.outcome is Outcome.SERVED
    expected = f'CFG_RESYNC_FROM_SIP="{panasonic.VENDOR.resync_event(reboot=False)}"'
    assert expected.encode() in delivery.body.splitlines()


def test_unknown_and_unplaceable_devices_are_refused_before_sending(
    service: Service, device_id: int
) -> None:
    with pytest.raises(NotFound, match="000b82ffffff"):
        resync_device(service, "000b82ffffff", send_notify, actor="test")
    with pytest.raises(Conflict, match="--to HOST:PORT"):
        resync_device(service, GS_MAC, send_notify, actor="test")
    with service.db.session() as session:
        assert latest_notify(session, GS_MAC) is None  # nothing was sent, nothing recorded


def test_the_contact_is_the_newest_fetch_from_an_address(service: Service, device_id: int) -> None:
    with service.db.session() as session:
        assert registered_contact(session, device_id) is None
    add_event(service, device_id, 1, "fetch", source="192.0.2.1")
    add_event(service, device_id, 2, "fetch", source="::ffff:192.0.2.7")
    add_event(service, device_id, 3, "refused", source="198.51.100.66")
    add_event(service, device_id, 4, "fetch", source="cli")
    with service.db.session() as session:
        assert registered_contact(session, device_id) == Target("192.0.2.7", 5060)


def test_whether_the_notified_file_was_applied(service: Service, device_id: int) -> None:
    filename = f"cfg{GS_MAC}.xml"
    add_event(service, device_id, 0, "fetch", filename=filename, sha256="new")  # before: no
    add_event(service, device_id, 1, "notify", filename=filename, sha256="new", detail="NOTIFY")

    def status() -> tuple[Applied, str | None]:
        with service.db.session() as session:
            notify = latest_notify(session, GS_MAC)
            assert notify is not None
            found = resync_status(session, notify)
            assert timeline_text(session, notify) == f"NOTIFY; {found}"
            return found.state, found.fetch.sha256 if found.fetch else None

    assert status() == (Applied.PENDING, None)
    add_event(service, device_id, 2, "fetch", filename="cfg.xml", sha256="new")  # another file
    assert status() == (Applied.PENDING, None)
    add_event(service, device_id, 3, "fetch", filename=filename, sha256="old")
    assert status() == (Applied.DIFFERENT, "old")
    add_event(service, device_id, 4, "fetch", filename=filename.upper(), sha256="new")
    assert status() == (Applied.APPLIED, "new")
    add_event(service, device_id, 5, "fetch", filename=filename, sha256="newer")
    assert status() == (Applied.APPLIED, "new")  # it did apply that file; later is later


def rename(service: Service, display_name: str) -> None:
    with service.db.session() as session:
        device = session.get(Device, device_of(service))
        assert device is not None
        device.lines[0].account.display_name = display_name


def device_of(service: Service) -> int:
    with service.db.session() as session:
        return session.scalars(select(Device.id).where(Device.mac == GS_MAC)).one()


def test_a_fetch_still_in_the_timeline_queue_does_not_skip_the_notify(
    service: Service, device_id: int
) -> None:
    """The race of issue 19: a rename, a fetch of the renamed file, the rename reverted at
    once. The fetch is not on the timeline yet (the writer writes every 0.25 s, each HTTP
    worker its own queue), so the recorded events still show the original file, which equals
    the file now: judged from them alone, the device that holds the renamed file is never
    told. The decision must come from what was last served."""
    notified: list[NotifyRequest] = []

    def notifier(request: NotifyRequest) -> NotifyAnswer:
        notified.append(request)
        return NotifyAnswer(200, "OK")

    def fetch() -> str:
        bench = Fetch(path=f"cfg{GS_MAC}.xml", protocol="http", source="127.0.0.1")
        delivery = service.provisioner.deliver(bench)
        assert delivery.outcome is Outcome.SERVED
        return hashlib.sha256(delivery.body).hexdigest()

    # Every fetch sees the inventory as it is (in service, within a second of a change).
    follow_every_change(service.provisioner)
    original = fetch()
    service.timeline.flush()  # the original file is on the timeline
    rename(service, "Renamed")
    assert fetch() != original  # served, still queued: the timeline writer has not run
    rename(service, "A")  # reverted: the file is the original again

    result = resync_if_changed(service, device_id, notifier, actor="test", timeout=1.0)
    assert result is not None
    assert result.sha256 == original
    assert [request.target for request in notified] == [Target("127.0.0.1", 5060)]

    # Once the device fetched the file it was told about, nothing more is sent.
    assert fetch() == original
    assert resync_if_changed(service, device_id, notifier, actor="test", timeout=1.0) is None
    assert len(notified) == 1


def test_a_phonebook_fetch_is_not_taken_for_the_devices_file(
    service: Service, device_id: int
) -> None:
    """A phone that searched or downloaded its phonebook after its last file fetch still holds
    that file: nothing to resync (a Panasonic phone searches on every look-up)."""
    notified: list[NotifyRequest] = []

    def notifier(request: NotifyRequest) -> NotifyAnswer:
        notified.append(request)
        return NotifyAnswer(200, "OK")

    bench = Fetch(path=f"cfg{GS_MAC}.xml", protocol="http", source="127.0.0.1")
    assert service.provisioner.deliver(bench).outcome is Outcome.SERVED
    service.timeline.flush()
    # recorded later than the file (T0 is in 2030): the newest fetch on the timeline
    add_event(service, device_id, 5, "fetch", filename="phonebook.xml", source="127.0.0.1",
              sha256="0" * 64)  # fmt: skip
    assert resync_if_changed(service, device_id, notifier, actor="test", timeout=1.0) is None
    assert notified == []
