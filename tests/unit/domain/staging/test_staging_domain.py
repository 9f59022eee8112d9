"""The staging domain: staff logins (scrypt, lockout) and the bench (progress, automatic staging).

Fetches go through the real delivery pipeline and the real timeline writer, whose after-write
hook stages a device; DHCP leases are timeline events as the bench DHCP's hook writes them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session

from provisioner.app.service import Service
from provisioner.cli import main
from provisioner.db.models import Device, DeviceEvent, DeviceState, TenantStatus
from provisioner.db.staging import LoginFailure, StaffAccount
from provisioner.domain.access import logins, staff
from provisioner.domain.delivery.pipeline import Fetch, Outcome
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.inventory import accounts, devices, tenants
from provisioner.domain.inventory.lifecycle import Action
from provisioner.domain.staging import auto_stage, bench_view
from provisioner.settings import Settings
from provisioner.web.staging.messages import MESSAGES
from tests.support.paths import ROOT

MAC = "000b82c0ffee"
OWN_FILE = f"cfg{MAC}.xml"
SOURCES = ROOT / "provisioner" / "web" / "staging"
TEMPLATES = SOURCES / "templates"


# --- staff ----------------------------------------------------------------------------------


def test_password_hashes_are_salted_scrypt_and_check_in_constant_time() -> None:
    first, second = staff.hash_password("a long password"), staff.hash_password("a long password")
    assert first != second  # salted
    assert first.startswith("scrypt$16384$8$1$")
    assert staff.check_password("a long password", first)
    assert not staff.check_password("a long passwore", first)
    assert not staff.check_password("a long password", "md5$whatever")
    assert not staff.check_password("a long password", "scrypt$not$a$hash")


def test_staff_accounts_are_checked(service: Service) -> None:
    with service.db.session() as session:
        staff.add_staff(session, "hanako", "ten chars!")
        with pytest.raises(Conflict):
            staff.add_staff(session, "hanako", "ten chars!")
        with pytest.raises(Invalid, match="user name"):
            staff.add_staff(session, "Hanako Y", "ten chars!")
        with pytest.raises(Invalid, match="10 to 200"):
            staff.add_staff(session, "taro", "short")
        with pytest.raises(NotFound):
            staff.disable_staff(session, "nobody")
        stored = session.scalar(select(StaffAccount.password_hash))
    assert "ten chars!" not in stored


def test_login_refuses_alike_and_locks_a_guessing_address_not_the_account(
    service: Service,
) -> None:
    with service.db.session() as session:
        staff.add_staff(session, "hanako", "right password")
        staff.add_staff(session, "gone", "right password")
        staff.disable_staff(session, "gone")

    def attempt(name: str, password: str, source: str = "192.0.2.1") -> staff.Login:
        with service.db.session() as session:
            return staff.log_in(session, name, password, lockout_seconds=600, source=source)

    assert attempt("nobody", "right password").result is staff.LoginResult.REFUSED
    assert attempt("gone", "right password").result is staff.LoginResult.REFUSED
    assert attempt("hanako", "x" * 10_000).result is staff.LoginResult.REFUSED
    assert attempt("hanako", "right password").result is staff.LoginResult.OK
    for name in ("hanako", "nobody"):  # a real name and an unknown one: the same answers
        answers = [attempt(name, "wrong", "192.0.2.2").result for _ in range(logins.PAIR_LIMIT)]
        assert answers == [staff.LoginResult.REFUSED] * (logins.PAIR_LIMIT - 1) + [
            staff.LoginResult.LOCKED
        ]
    # Locked from that address: even the right password is refused there ...
    assert attempt("hanako", "right password", "192.0.2.2").result is staff.LoginResult.LOCKED
    # ... and nowhere else: its owner at another bench logs in.
    assert attempt("hanako", "right password", "192.0.2.3").result is staff.LoginResult.OK
    with service.db.session() as session:
        session.execute(update(LoginFailure).values(locked_until=dt.datetime(2000, 1, 1)))
    assert attempt("hanako", "right password", "192.0.2.2").result is staff.LoginResult.OK


def test_one_address_walking_through_names_is_locked_for_every_name(service: Service) -> None:
    with service.db.session() as session:
        staff.add_staff(session, "hanako", "right password")

    def attempt(name: str, password: str, source: str) -> staff.LoginResult:
        with service.db.session() as session:
            return staff.log_in(session, name, password, 600, source=source).result

    guesser = "2001:db8:1:2::10"
    for index in range(logins.ADDRESS_LIMIT - 1):
        assert attempt(f"name{index}", "wrong", guesser) is staff.LoginResult.REFUSED
    assert attempt("another", "wrong", guesser) is staff.LoginResult.LOCKED
    # The whole /64 is one guesser; a mapped IPv4 address is that IPv4 address.
    assert attempt("hanako", "right password", "2001:db8:1:2::99") is staff.LoginResult.LOCKED
    assert attempt("hanako", "right password", "2001:db8:1:3::10") is staff.LoginResult.OK
    assert logins.source_network("::ffff:192.0.2.9") == "192.0.2.9"


def test_the_staff_table_comes_and_goes_with_its_migration(service: Service) -> None:
    service.db.downgrade("0007")
    assert "staff_accounts" not in inspect(service.db.engine).get_table_names()
    service.db.upgrade()
    assert "staff_accounts" in inspect(service.db.engine).get_table_names()


# --- the message catalogue ------------------------------------------------------------------


def test_both_languages_have_every_text_the_pages_ask_for() -> None:
    assert set(MESSAGES["ja"]) == set(MESSAGES["en"])
    asked = set()
    for path in [*TEMPLATES.rglob("*.html"), *SOURCES.glob("*.py")]:
        asked |= set(re.findall(r"""\bt\(\s*["']([a-z_]+)["']\s*[,)]""", path.read_text("utf-8")))
    asked |= {f"state_{state.value}" for state in DeviceState}  # built as "state_" ~ value
    asked |= {f"tenant_{status.value}" for status in TenantStatus}
    asked |= {f"lease_{action}" for action in ("add", "old", "del")}
    assert len(asked) > 40
    assert asked <= set(MESSAGES["ja"]), asked - set(MESSAGES["ja"])


# --- the bench ------------------------------------------------------------------------------


@pytest.fixture
def bound(service: Service) -> Service:
    """A GXP2170 bound to an active tenant, with an account on line 1."""
    with service.db.session() as session:
        tenant = tenants.create_tenant(session, "株式会社ベンチ", TenantStatus.ACTIVE, [])
        account = accounts.create_account(
            session, service.box, tenant, extension="2001", direct_number="", display_name="受付"
        )
        device = devices.create_device(session, service.box, mac=MAC, model="GXP2170")
        devices.act(session, service.box, device, Action.BIND, "test", tenant)
        devices.set_line(session, device, 1, account)
    return service


def fetch(service: Service, name: str, source: str) -> Outcome:
    delivery = service.provisioner.deliver(Fetch(path=name, protocol="http", source=source))
    service.timeline.flush()  # the writer's batch, and its after-write hook
    return delivery.outcome


def row(service: Service) -> bench_view.BenchRow:
    with service.db.session() as session:
        found = [
            r
            for r in bench_view.bench_rows(
                session, service.provisioner.staging, bench_view.bench_devices(session)
            )
            if r.mac == MAC
        ]
    assert len(found) == 1
    return found[0]


def state(service: Service) -> DeviceState:
    with service.db.session() as session:
        return session.scalar(select(Device.state).where(Device.mac == MAC))


def test_a_bound_device_waits_for_its_lease_and_its_fetch(bound: Service) -> None:
    waiting = row(bound)
    assert waiting.state is DeviceState.BOUND
    assert waiting.tenant == "株式会社ベンチ"
    assert [(line.port, line.extension) for line in waiting.lines] == [(1, "2001")]
    assert waiting.lease is None
    assert waiting.config_fetched_at is None
    # Other parts not wired yet: not known, never "false".
    assert (waiting.firmware_at_target, waiting.registered, waiting.poe_port) == (None,) * 3
    assert waiting.alerts is None
    assert not waiting.ready_to_stage

    with bound.db.session() as session:
        device = devices.get_device(session, MAC)
        session.add(DeviceEvent(device=device, kind="dhcp", source="192.0.2.9", detail="add x"))
        session.add(DeviceEvent(device=device, kind="dhcp", source="192.0.2.10", detail="old x"))
    leased = row(bound).lease
    assert leased is not None
    assert (leased.address, leased.action, leased.held) == ("192.0.2.10", "old", True)
    with bound.db.session() as session:
        device = devices.get_device(session, MAC)
        session.add(DeviceEvent(device=device, kind="dhcp", source="192.0.2.10", detail="del x"))
    released = row(bound).lease
    assert released is not None
    assert not released.held


def test_only_its_own_file_from_a_staging_network_stages_it(bound: Service) -> None:
    assert fetch(bound, "cfg.xml", "127.0.0.1") is Outcome.NOT_FOUND
    assert fetch(bound, "cfg000b82c0fff0.xml", "127.0.0.1") is Outcome.NOT_FOUND
    # From a customer's network the file needs credentials: refused, and nothing staged.
    assert fetch(bound, OWN_FILE, "203.0.113.7") is Outcome.UNAUTHORIZED
    assert row(bound).config_fetched_at is None
    assert state(bound) is DeviceState.BOUND

    assert fetch(bound, f"/some/prefix/{OWN_FILE}", "127.0.0.1") is Outcome.SERVED
    assert state(bound) is DeviceState.STAGED  # by the timeline writer, nobody looking
    staged = row(bound)
    assert staged.config_fetched_at is not None
    with bound.db.session() as session:
        events = session.scalars(
            select(DeviceEvent.detail).where(DeviceEvent.kind == "state")
        ).all()
    assert "bound -> staged" in events


def test_a_fetch_before_binding_does_not_count(service: Service) -> None:
    with service.db.session() as session:
        tenant = tenants.create_tenant(session, "acme", TenantStatus.ACTIVE, [])
        device = devices.create_device(session, service.box, mac=MAC, model="GXP2170")
        before = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        session.add(
            DeviceEvent(device=device, kind="fetch", filename=OWN_FILE, source="127.0.0.1",
                        status=200, at=before)
        )  # fmt: skip
        devices.act(session, service.box, device, Action.BIND, "test", tenant)
    assert row(service).config_fetched_at is None
    with service.db.session() as session:
        assert auto_stage.promote_staged(session, service.box, service.provisioner.staging) == []


def test_a_known_firmware_target_holds_staging_back(
    bound: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = {"version": "1.0.11.79"}

    def firmware_targets(
        _session: Session, found: Sequence[Device]
    ) -> dict[int, bench_view.BenchFacts]:
        return {d.id: bench_view.BenchFacts(firmware_target=target["version"]) for d in found}

    def poe(_session: Session, found: Sequence[Device]) -> dict[int, bench_view.BenchFacts]:
        return {d.id: bench_view.BenchFacts(poe_port="bench-sw 7", alerts=()) for d in found}

    monkeypatch.setattr(bench_view, "FACT_PROVIDERS", [firmware_targets, poe])
    agent = "Grandstream Model HW GXP2170 SW 1.0.9.1 DevId " + MAC
    delivery = bound.provisioner.deliver(
        Fetch(path=OWN_FILE, protocol="http", source="127.0.0.1", user_agent=agent)
    )
    assert delivery.outcome is Outcome.SERVED
    bound.timeline.flush()
    behind = row(bound)
    assert behind.config_fetched_at is not None
    assert (behind.firmware, behind.firmware_target) == ("1.0.9.1", "1.0.11.79")
    assert behind.firmware_at_target is False
    assert (behind.poe_port, behind.alerts) == ("bench-sw 7", ())  # both providers merged
    assert state(bound) is DeviceState.BOUND  # not at target: not staged

    target["version"] = "1.0.9.1"  # the catalog's target changes to what it runs
    with bound.db.session() as session:
        staged = auto_stage.promote_staged(session, bound.box, bound.provisioner.staging)
    assert staged == [MAC]
    assert state(bound) is DeviceState.STAGED


def test_a_failing_hook_loses_no_timeline_event(bound: Service) -> None:
    def broken(_written: object) -> None:
        raise RuntimeError("provider down")

    bound.timeline._observers = (broken,)  # the writer's observers, as service.py wires them
    assert fetch(bound, OWN_FILE, "127.0.0.1") is Outcome.SERVED
    with bound.db.session() as session:
        fetches = session.scalars(select(DeviceEvent).where(DeviceEvent.kind == "fetch")).all()
    assert len(fetches) == 1
    assert state(bound) is DeviceState.BOUND
    with bound.db.session() as session:  # the bench view's refresh catches up
        assert auto_stage.promote_staged(session, bound.box, bound.provisioner.staging) == [MAC]


def test_staff_command_adds_lists_and_disables(settings: Settings) -> None:
    env = {"PROVISIONER_SECRET_KEY": settings.secret_key}
    db = ["--db", settings.db]

    def run(*args: str, given: str | None = None) -> Result:
        return CliRunner().invoke(main, ["staff", *args, *db], input=given, env=env)

    assert run("add", "hanako", given="pass word 10\npass word 10\n").exit_code == 0
    mismatch = run("add", "taro", given="pass word 10\npass word 11\n" * 3)
    assert mismatch.exit_code != 0
    short = run("add", "jiro", given="short\nshort\n")
    assert short.exit_code == 1
    assert "10 to 200" in short.output
    listed = run("list")
    assert "hanako" in listed.output
    assert "active" in listed.output
    assert "taro" not in listed.output
    assert run("disable", "hanako").exit_code == 0
    assert "disabled" in run("list").output
    unknown = run("disable", "nobody")
    assert unknown.exit_code == 1
    assert "provisioner staff list" in unknown.output
