"""The provisioning sheet: all rows or none, every bad row named with its line and reason."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from provisioner.app.service import Service
from provisioner.db.models import Account, Device, DeviceEvent, RepresentativeNumber, Tenant
from provisioner.domain.inventory.sheet import SheetError, import_sheet, sheet_rows
from provisioner.secretbox import SAFE_ALPHABET
from tests.support.sheets import row


def counts(service: Service) -> tuple[int, int, int, int]:
    with service.db.session() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model))
            for model in (Tenant, Account, Device, DeviceEvent)
        )


def run_import(service: Service, rows: list[dict[str, str]], dry_run: bool = False):
    with service.db.session() as session:
        return import_sheet(session, service.box, sheet_rows(rows), dry_run=dry_run)


def test_good_sheet_creates_tenants_accounts_devices(service: Service) -> None:
    rows = [
        row(),
        row(extension="1002", direct_number="", display_name="佐藤", port="2"),
        row(mac="000b82aa0002", model="HT802", port="1", fax="t38"),
        row(mac="000b82aa0002", model="HT802", port="2", extension="1003",
            direct_number="0312345679", display_name="FAX", fax="passthrough"),
        row(tenant="beta", extension="1001", direct_number="0612345678",
            mac="00-80-F0-00-00-01", model="kx-hdv230", representative_number="0612340000",
            caller_id="representative"),
        row(tenant="beta", extension="1002", direct_number="", mac="00-80-F0-00-00-01",
            model="kx-hdv230", port="2", ring_representative="no"),
    ]  # fmt: skip
    report = run_import(service, rows)
    assert report.ok, report.errors
    assert (report.tenants_created, report.accounts_created, report.devices_created) == (2, 5, 3)
    assert counts(service) == (2, 5, 3, 6)  # per device: a bind and an import event
    with service.db.session() as session:
        ata = session.scalar(select(Device).where(Device.mac == "000b82aa0002"))
        assert ata is not None
        assert [(ln.port, ln.fax_mode) for ln in ata.lines] == [(1, "t38"), (2, "passthrough")]
        hdv = session.scalar(select(Device).where(Device.mac == "0080f0000001"))
        assert hdv is not None
        assert hdv.model == "KX-HDV230"
        assert hdv.caller_id_number is not None
        assert hdv.caller_id_number.number == "0612340000"
        assert [ln.ring_representative for ln in hdv.lines] == [None, False]
        usernames = session.scalars(select(Account.sip_username)).all()
        assert len(set(usernames)) == 5
        assert not any(name.isdigit() for name in usernames)


def test_secrets_are_encrypted_at_rest(service: Service) -> None:
    assert run_import(service, [row()]).ok
    with service.db.engine.connect() as conn:
        stored = conn.execute(text("SELECT sip_password_encrypted FROM accounts")).scalar_one()
        admin = conn.execute(text("SELECT admin_password_encrypted FROM devices")).scalar_one()
    password = service.box.decrypt(stored)
    assert password not in stored
    assert len(password) == 20
    assert set(password) <= set(SAFE_ALPHABET)
    assert set(service.box.decrypt(admin)) <= set(SAFE_ALPHABET)


BAD_ROWS = [
    (row(mac="00:0b:82:aa:00"), "bad MAC"),
    (row(mac="010b82aa0001"), "multicast"),
    (row(model="GXP9999"), "unknown model"),
    (row(port="7"), "beyond the 6 lines of the GXP2170"),
    (row(model="HT802", port="3"), "beyond the 2 FXS ports of the HT802"),
    (row(port="one"), "whole number"),
    (row(extension="101"), "4 digits"),
    (row(direct_number="12345"), "not a Japanese number"),
    (row(display_name='Taro "T"'), "display_name"),
    (row(display_name="two\tparts"), "display_name"),
    (row(caller_id="representative"), "needs a representative_number"),
    (row(fax="t38"), "fax is for ATA ports"),
    (row(model="HT802", fax="g711"), "'t38' or 'passthrough'"),
]


@pytest.mark.parametrize(("bad", "reason"), BAD_ROWS)
def test_one_bad_row_writes_nothing_and_names_the_row(
    service: Service, bad: dict[str, str], reason: str
) -> None:
    rows = [row(mac="000b82bb0001", extension="2001", direct_number="0399999999"), bad]
    report = run_import(service, rows)
    assert not report.written
    assert [e.line for e in report.errors] == [3]
    assert reason in report.errors[0].reason
    assert counts(service) == (0, 0, 0, 0)


def test_cross_row_rules(service: Service) -> None:
    rows = [
        row(),  # line 2
        row(port="1", extension="1002", direct_number=""),  # 3: same port twice
        row(extension="1001", display_name="別人", port="2"),  # 4: duplicate extension
        row(extension="1003", direct_number="0312345678", port="3"),  # 5: number reused
        row(mac="000b82aa0009", model="GXP1610"),  # 6: fine (shared account)
    ]
    report = run_import(service, rows)
    assert [(e.line, e.reason.split(" ")[0]) for e in report.errors] == [
        (3, "same"),
        (4, "duplicate"),
        (5, "direct"),
    ]
    assert counts(service) == (0, 0, 0, 0)


def test_representative_number_limits(service: Service) -> None:
    reps = ["0311110001", "0311110002", "0311110003", "0311110004"]
    rows = [
        row(extension=f"100{i}", direct_number="", port=str(i), representative_number=rep)
        for i, rep in enumerate(reps, start=1)
    ]
    report = run_import(service, rows)
    assert [e.line for e in report.errors] == [5]
    assert "more than 3" in report.errors[0].reason
    # two numbers for a tenant with one account
    report = run_import(
        service,
        [
            row(representative_number=reps[0]),
            row(mac="000b82aa0003", model="GXP1610", representative_number=reps[1]),
        ],
    )
    assert [e.line for e in report.errors] == [2, 3]
    # only the basic ID: no representative number at all (the 03plus guide)
    assert "has 1 ID(s): a representative number needs at least 2" in report.errors[0].reason
    report = run_import(service, [row(ring_representative="maybe")])
    assert "ring_representative 'maybe' must be yes, no or empty" in report.errors[0].reason
    assert counts(service) == (0, 0, 0, 0)


def test_inventory_conflicts(service: Service) -> None:
    assert run_import(service, [row()]).ok
    report = run_import(service, [row(tenant="other", direct_number="0398765432")])
    assert "bound to another tenant" in report.errors[0].reason
    report = run_import(service, [row(model="GXP2160")])
    assert "in the inventory as a GXP2170" in report.errors[0].reason
    report = run_import(service, [row(display_name="改名")])
    assert "change it in the inventory" in report.errors[0].reason
    assert counts(service) == (1, 1, 1, 2)


def test_reimport_is_idempotent_and_dry_run_writes_nothing(service: Service) -> None:
    rows = [row(), row(extension="1002", direct_number="", display_name="佐藤", port="2")]
    dry = run_import(service, rows, dry_run=True)
    assert dry.ok
    assert not dry.written
    assert dry.devices_created == 1
    assert counts(service) == (0, 0, 0, 0)
    assert run_import(service, rows).ok
    again = run_import(service, rows)
    assert (again.accounts_created, again.devices_created, again.devices_updated) == (0, 0, 1)
    with service.db.session() as session:
        assert session.scalar(select(func.count()).select_from(RepresentativeNumber)) == 0
        device = session.scalars(select(Device)).one()
        assert [line.port for line in device.lines] == [1, 2]


def test_unreadable_files_are_refused_whole(service: Service) -> None:
    with service.db.session() as session, pytest.raises(SheetError, match="not UTF-8"):
        import_sheet(session, service.box, "tenant,extension\n山田".encode("shift_jis"))
    with service.db.session() as session, pytest.raises(SheetError, match="lacks the column"):
        import_sheet(session, service.box, b"tenant,extension\nacme,1001\n")
    with service.db.session() as session:
        report = import_sheet(
            session, service.box, sheet_rows([row()]).replace(b"GXP2170,1", b"GXP2170,1,x,y,z,w")
        )
    assert "more fields" in report.errors[0].reason
