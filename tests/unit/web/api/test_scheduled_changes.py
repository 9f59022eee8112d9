"""Changes sent with ``?apply_at=``: checked now and answered 202, applied once at their time
through the same views (``web.replay.apply_due``), cancelable until then, failed with the reason
when they became invalid meanwhile, and in the history with their outcome."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.db.audit import AuditRecord
from provisioner.db.models import Device, utcnow
from provisioner.domain import schedule
from provisioner.domain.demo import REPRESENTATIVE, seed_demo
from provisioner.web.replay import apply_due
from tests.support.api import Api, add_customer_token, make_api


@pytest.fixture
def api(service: Service) -> Api:
    with service.db.session() as session:
        seed_demo(session, service.box)
    return make_api(service)


def later(seconds: int) -> str:
    return (
        (utcnow() + dt.timedelta(seconds=seconds))
        .astimezone(dt.timezone(dt.timedelta(hours=9)))
        .isoformat()
    )


def first_mac(api: Api) -> str:
    with api.service.db.session() as session:
        return session.scalars(select(Device.mac).order_by(Device.mac)).first() or ""


def ringing(api: Api, mac: str) -> bool:
    return bool(api.ok("GET", f"/devices/{mac}")["ring_representative"])


def apply(api: Api, seconds: int = 3600) -> int:
    app = api.client.application
    return apply_due(app, utcnow() + dt.timedelta(seconds=seconds))  # type: ignore[arg-type]


def test_a_scheduled_change_is_applied_once_at_its_time(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[Any] = []
    queue = api.client.application.extensions["resync"]
    monkeypatch.setattr(queue, "submit", lambda ids, actor: told.append((set(ids), actor)))
    mac = first_mac(api)
    answer = api.call("PATCH", f"/devices/{mac}?apply_at={later(60)}", role="warehouse",
                      json={"ring_representative": False})  # fmt: skip
    assert answer.status_code == 202, answer.get_data(as_text=True)
    change = answer.get_json()
    assert (change["status"], change["method"], change["actor"]) == (
        "pending",
        "PATCH",
        "api warehouse",
    )
    assert answer.headers["Location"].endswith(f"/scheduled-changes/{change['id']}")
    assert ringing(api, mac)  # not yet
    assert told == []
    assert apply(api, seconds=1) == 0  # not due
    assert apply(api) == 1
    assert not ringing(api, mac)
    shown = api.ok("GET", f"/scheduled-changes/{change['id']}", role="readonly")
    assert (shown["status"], shown["outcome"]) == ("applied", "200: applied")
    assert apply(api) == 0  # once
    with api.service.db.session() as session:
        device_id = session.scalars(select(Device.id).where(Device.mac == mac)).one()
        history = session.scalars(
            select(AuditRecord).where(AuditRecord.request_id == f"scheduled-{change['id']}")
        ).all()
    assert told == [({device_id}, f"scheduled #{change['id']} (api warehouse)")]
    applied = [r for r in history if r.object_type == "devices"]
    assert applied[0].changes["ring_representative"] == [True, False]
    assert applied[0].door == "scheduler"
    outcome = [r for r in history if r.action == "apply"]
    assert [(r.result, r.object_id) for r in outcome] == [("ok", str(change["id"]))]


def test_a_cancelled_change_never_runs(api: Api) -> None:
    mac = first_mac(api)
    change = api.ok("PATCH", f"/devices/{mac}?apply_at={later(60)}", 202,
                    json={"ring_representative": False})  # fmt: skip
    cancel = f"/scheduled-changes/{change['id']}/actions/cancel"
    api.refused("POST", cancel, 403, role="readonly")
    assert api.ok("POST", cancel, role="support")["status"] == "cancelled"
    api.refused("POST", cancel, 409)
    assert apply(api) == 0
    assert ringing(api, mac)


def test_an_id_beyond_the_column_is_missing_not_a_crash(api: Api) -> None:
    """Found by the customer-token fuzz: 2**63 overflowed SQLite's INTEGER (a 500)."""
    api.refused("GET", f"/scheduled-changes/{2**63}", 404)
    api.refused("POST", f"/scheduled-changes/{2**63}/actions/cancel", 404)


def test_a_change_that_became_invalid_fails_with_its_reason_and_changes_nothing(api: Api) -> None:
    mac = first_mac(api)
    change = api.ok("PATCH", f"/devices/{mac}?apply_at={later(60)}", 202,
                    json={"caller_id": REPRESENTATIVE, "ring_representative": False})  # fmt: skip
    number_id = api.ok("GET", "/tenants/1/representative-numbers")[0]["id"]
    api.ok("DELETE", f"/representative-numbers/{number_id}", 204)
    assert apply(api) == 1
    shown = api.ok("GET", f"/scheduled-changes/{change['id']}")
    assert shown["status"] == "failed"
    assert REPRESENTATIVE in shown["outcome"]
    assert shown["outcome"].startswith("409")
    assert ringing(api, mac)  # the rest of the request was not applied either
    failed = api.ok("GET", "/audit?object_type=scheduled_changes&result=failed")["items"]
    assert [r["action"] for r in failed] == ["apply"]
    assert apply(api) == 0


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("apply_at=2020-01-01T00:00:00%2B09:00", "past"),
        ("apply_at=2030-01-01T00:00:00", "offset"),
        ("apply_at=tomorrow", "ISO 8601"),
    ],
)
def test_a_bad_time_is_refused_and_nothing_is_stored(api: Api, query: str, reason: str) -> None:
    mac = first_mac(api)
    refused = api.refused(
        "PATCH", f"/devices/{mac}?{query}", 422, json={"ring_representative": False}
    )
    assert reason in refused
    assert api.ok("GET", "/scheduled-changes") == []


def test_a_request_that_would_fail_now_is_refused_now(api: Api) -> None:
    mac = first_mac(api)
    api.refused(
        "PATCH", f"/devices/{mac}?apply_at={later(60)}", 409, json={"caller_id": "0399999999"}
    )
    api.refused("POST", f"/devices/{mac}/actions/resync?apply_at={later(60)}", 422, json={})
    assert api.ok("GET", "/scheduled-changes") == []


def test_a_change_staff_schedule_for_a_tenant_is_shown_to_its_customers(api: Api) -> None:
    name = add_customer_token(api, 1)
    mac = first_mac(api)
    change = api.ok("PATCH", f"/devices/{mac}?apply_at={later(60)}", 202,
                    json={"ring_representative": False})  # fmt: skip
    assert change["tenant_id"] == 1
    assert [c["id"] for c in api.ok("GET", "/scheduled-changes", role=name)] == [change["id"]]
    assert apply(api) == 1
    assert not ringing(api, mac)  # a staff member's replay is not narrowed to the tenant


def test_a_crash_while_applying_leaves_the_change_pending_and_nothing_applied(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies after the view changed the device but before the commit (here: an
    exception no handler takes, as kill -9 takes the connection): the transaction is undone,
    and the next pass applies the change once."""
    mac = first_mac(api)
    change = api.ok("PATCH", f"/devices/{mac}?apply_at={later(60)}", 202,
                    json={"ring_representative": False})  # fmt: skip

    def die(*_args: object, **_kwargs: object) -> None:
        raise SystemExit("killed")

    monkeypatch.setattr(schedule, "finish", die)
    with pytest.raises(SystemExit):
        apply(api)
    assert ringing(api, mac)
    assert api.ok("GET", f"/scheduled-changes/{change['id']}")["status"] == "pending"
    monkeypatch.undo()
    assert apply(api) == 1
    assert not ringing(api, mac)
    outcomes = api.ok("GET", "/audit?object_type=scheduled_changes&result=ok")["items"]
    assert [r["action"] for r in outcomes if r["action"] == "apply"] == ["apply"]


def test_a_customer_schedules_a_phonebook_and_one_lines_ringing(api: Api) -> None:
    """A CSV body is kept as sent (the view reads it uncached) and replayed as the customer."""
    name = add_customer_token(api, 1)
    mac = first_mac(api)
    sheet = "name,reading,group,office,mobile,home\n阿部,あべ,,0312345678,,\n"
    booked = api.call("PUT", f"/tenants/1/phonebook?apply_at={later(60)}", role=name,
                      data=sheet.encode(), content_type="text/csv")  # fmt: skip
    assert booked.status_code == 202, booked.get_data(as_text=True)
    assert booked.get_json()["body"] == sheet
    line = api.ok("PATCH", f"/devices/{mac}/lines/1?apply_at={later(60)}", 202, role=name,
                  json={"ring_representative": False})  # fmt: skip
    assert line["role"] == "customer"
    assert "阿部" not in str(api.ok("GET", "/tenants/1/phonebook", role=name))
    assert apply(api) == 2
    assert [e["name"] for e in api.ok("GET", "/tenants/1/phonebook", role=name)][:1] == ["阿部"]
    assert api.ok("GET", f"/devices/{mac}", role=name)["lines"][0]["ring_representative"] is False
    statuses = {c["path"]: c["status"] for c in api.ok("GET", "/scheduled-changes", role=name)}
    assert set(statuses.values()) == {"applied"}
