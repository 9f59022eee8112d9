"""The request history: every change is one record per row changed, written with the change,
whatever the door; a refused change is one failure record; records are append-only; a customer
reads its own tenant's; secrets never appear."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from provisioner.app.service import Service, open_service
from provisioner.cli import main
from provisioner.db.audit import AuditRecord
from provisioner.db.models import Account, Device, Tenant, TenantStatus
from provisioner.domain.demo import DEMO_TENANT, seed_demo
from provisioner.domain.inventory import tenants
from provisioner.domain.inventory.sheet import sheet_rows as sheet_of
from provisioner.settings import Settings
from tests.support.api import Api, add_customer_token, make_api


def records(service: Service) -> list[AuditRecord]:
    with service.db.session() as session:
        return list(session.scalars(select(AuditRecord).order_by(AuditRecord.id)))


@pytest.fixture
def api(service: Service) -> Api:
    with service.db.session() as session:
        seed_demo(session, service.box)
    return make_api(service)


def test_an_api_change_says_who_what_before_after_and_how(api: Api) -> None:
    before = len(records(api.service))
    account = api.ok("GET", "/tenants/1/accounts")[0]
    how = {"headers": {"X-Request-Id": "req-42"}, "environ_base": {"REMOTE_ADDR": "192.0.2.7"}}
    api.ok("PATCH", f"/accounts/{account['id']}", json={"display_name": "改名"}, **how)
    (record,) = records(api.service)[before:]
    assert (record.actor, record.role, record.door) == ("api admin", "admin", "api")
    assert (record.object_type, record.object_id, record.action) == (
        "accounts", str(account["id"]), "update")  # fmt: skip
    assert record.changes == {"display_name": [account["display_name"], "改名"]}
    assert (record.request_id, record.source, record.result) == ("req-42", "192.0.2.7", "ok")
    assert record.tenant_id == 1


def test_secrets_are_masked_and_a_refusal_is_one_failure_record(api: Api) -> None:
    before = len(records(api.service))
    api.ok("POST", "/tenants/1/accounts", 201, json={"extension": "3999", "display_name": "新"})
    created = [r for r in records(api.service)[before:] if r.object_type == "accounts"]
    assert created[0].changes["sip_password_encrypted"] == ["***", "***"]
    with api.service.db.session() as session:
        stored = session.scalars(select(Account).where(Account.extension == "3999")).one()
        assert stored.sip_password_encrypted not in str(created[0].changes)
    mark = len(records(api.service))
    api.refused("POST", "/tenants/1/accounts", 409, json={"extension": "3999", "display_name": "x"})
    (failure,) = records(api.service)[mark:]
    assert (failure.result, failure.action, failure.object_type) == ("failed", "refused", "request")
    assert "409" in (failure.detail or "")
    assert failure.object_label == "POST /api/v1/tenants/1/accounts"


def test_the_history_is_append_only(api: Api) -> None:
    with pytest.raises(PermissionError), api.service.db.session() as session:
        session.scalars(select(AuditRecord)).first().detail = "rewritten"  # type: ignore[union-attr]
    with pytest.raises(PermissionError), api.service.db.session() as session:
        session.delete(session.scalars(select(AuditRecord)).first())
    for method in ("PATCH", "PUT", "DELETE"):
        assert api.call(method, "/audit").status_code == 405


def test_a_customer_reads_its_own_tenants_history_with_filters_and_csv(api: Api) -> None:
    with api.service.db.session() as session:
        ours = tenants.create_tenant(
            session, name="顧客A", status=TenantStatus.ACTIVE, allowed_networks=[]
        )
        ours_id = ours.id
    add_customer_token(api, ours_id)
    api.ok(
        "PATCH",
        f"/tenants/{ours_id}",
        role="customer",
        json={"allowed_networks": ["198.51.100.0/24"]},
    )
    seen = api.ok("GET", "/audit?limit=1000", role="customer")
    # The tenant created by staff and changed by the customer, and the customer's token.
    assert seen["total"] == len(seen["items"]) == 3
    assert sorted(r["object_type"] for r in seen["items"]) == ["api_tokens", "tenants", "tenants"]
    assert {r["tenant_id"] for r in seen["items"]} == {ours_id}
    assert seen["items"][0]["actor"] == "api customer"
    assert api.ok("GET", "/audit?limit=1")["total"] > 100  # staff: everything (the demo import)
    only_ours = api.ok("GET", f"/audit?tenant_id={ours_id}&object_type=tenants&result=ok")
    assert only_ours["total"] == 2
    exported = api.call("GET", "/audit.csv?object_type=tenants", role="customer")
    assert exported.content_type == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row["object_label"] for row in rows] == ["顧客A", "顧客A"]
    assert "198.51.100.0/24" in rows[0]["changes"]
    assert DEMO_TENANT not in exported.get_data(as_text=True)


def test_an_import_writes_its_history_in_its_transaction_or_one_failure(
    tmp_path: Path, settings: Settings
) -> None:
    url = settings.db
    env = {"PROVISIONER_SECRET_KEY": settings.secret_key or ""}
    rows = [
        {"tenant": "大口", "extension": f"{2000 + i}", "direct_number": "",
         "display_name": f"社員{i}", "mac": f"000b82{0x100000 + i // 2:06x}",
         "model": "GXP2170", "port": str(1 + i % 2)}
        for i in range(1000)
    ]  # fmt: skip
    good = tmp_path / "good.csv"
    good.write_bytes(sheet_of(rows))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(sheet_of([*rows[:10], {**rows[10], "model": "NOPE"}]))
    runner = CliRunner()
    refused = runner.invoke(main, ["import", str(bad), "--db", url], env=env)
    assert refused.exit_code == 1, refused.output
    service = _open(settings)
    (failure,) = records(service)
    assert (failure.door, failure.result, failure.object_label) == (
        "import",
        "failed",
        "import bad.csv",
    )
    assert "line 12" in (failure.detail or "")
    with service.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Tenant)) == 0
    done = runner.invoke(main, ["import", str(good), "--db", url], env=env)
    assert done.exit_code == 0, done.output
    with service.db.session() as session:
        written = session.scalars(select(AuditRecord).where(AuditRecord.result == "ok")).all()
        devices = session.scalar(select(func.count()).select_from(Device))
    assert devices == 500
    by_type = {
        t: sum(r.object_type == t for r in written) for t in ("tenants", "accounts", "devices")
    }
    assert by_type == {"tenants": 1, "accounts": 1000, "devices": 500}
    assert {r.door for r in written} == {"import"}
    assert len({r.actor for r in written}) == 1
    service.close()


def test_history_is_undone_with_the_change_it_records(service: Service) -> None:
    """Recorded in the change's own transaction: a unit of work that fails after the import
    was flushed leaves neither the rows nor their records."""
    flushed: list[int] = []

    def import_then_fail() -> None:
        with service.db.session() as session:
            seed_demo(session, service.box)
            session.flush()
            flushed.append(session.scalar(select(func.count()).select_from(AuditRecord)) or 0)
            raise RuntimeError("the commit never comes")

    with pytest.raises(RuntimeError):
        import_then_fail()
    assert flushed[0] > 50
    assert records(service) == []
    with service.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Tenant)) == 0


def _open(settings: Settings) -> Service:
    return open_service(settings)


def test_a_refused_api_import_is_one_failure_record_and_nothing_else(api: Api) -> None:
    mark = len(records(api.service))
    rows = [
        {"tenant": "新規", "extension": f"{2000 + i}", "direct_number": "",
         "display_name": f"社員{i}", "mac": f"000b82{0x200000 + i:06x}", "model": "GXP2170",
         "port": "1"}
        for i in range(5)
    ]  # fmt: skip
    rows[3]["model"] = "NOPE"
    api.refused("POST", "/imports", 422, role="warehouse", data=sheet_of(rows),
                content_type="text/csv")  # fmt: skip
    (failure,) = records(api.service)[mark:]
    assert (failure.actor, failure.door, failure.result) == ("api warehouse", "api", "failed")
    assert "422" in (failure.detail or "")
    with api.service.db.session() as session:
        assert session.scalar(select(Tenant.id).where(Tenant.name == "新規")) is None


def test_the_cli_prints_the_history_and_its_csv(api: Api, settings: Settings) -> None:
    account = api.ok("GET", "/tenants/1/accounts")[0]
    api.ok("PATCH", f"/accounts/{account['id']}", json={"display_name": "改名"})
    env = {"PROVISIONER_SECRET_KEY": settings.secret_key or ""}
    shown = CliRunner().invoke(
        main, ["audit", "--tenant", DEMO_TENANT, "--object-type", "accounts", "--limit", "1",
               "--db", settings.db], env=env)  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert "api admin" in shown.output
    assert '"改名"' in shown.output
    exported = CliRunner().invoke(main, ["audit", "--csv", "--db", settings.db], env=env)
    assert exported.output.startswith("\ufeffid,at,actor")
    failed = CliRunner().invoke(main, ["audit", "--failed", "--db", settings.db], env=env)
    assert "0 of 0" in failed.output


def test_a_refusal_with_awkward_text_is_recorded_cut_and_escaped(api: Api) -> None:
    mark = len(records(api.service))
    api.refused("DELETE", "/tokens/%00" + "x" * 300, 404)
    (failure,) = records(api.service)[mark:]
    assert failure.object_label is not None
    assert len(failure.object_label) == 100
    assert "\x00" not in failure.object_label
    assert "\\x00" in failure.object_label
