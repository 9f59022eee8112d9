"""The PBX directory built from the inventory and written to SQLite, without Kamailio."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from provisioner.app.service import Service
from provisioner.db.models import Tenant, TenantStatus
from provisioner.domain.inventory import devices
from provisioner.pbx.directory import build_directory
from provisioner.pbx.kamailio_db import write_directory
from tests.support.pbx_support import REALM


def test_suspended_tenants_are_not_exported(pbx_inventory: Service) -> None:
    with pbx_inventory.db.session() as session:
        session.query(Tenant).filter(Tenant.name == "other").one().status = TenantStatus.SUSPENDED
    with pbx_inventory.db.session() as session:
        directory = build_directory(session, pbx_inventory.box, REALM)
    assert {s.tenant for s in directory.subscribers} == {"acme"}


def test_each_account_carries_the_caller_id_its_phone_chose(pbx_inventory: Service) -> None:
    def caller_ids() -> dict[tuple[str, str], str]:
        with pbx_inventory.db.session() as session:
            directory = build_directory(session, pbx_inventory.box, REALM)
        return {(s.tenant, s.extension): s.caller_id for s in directory.subscribers}

    # direct: the account's own number; none of its own: "" (the gateway shows the default)
    assert caller_ids() == {("acme", "2001"): "0312345001", ("acme", "2002"): "",
                            ("other", "2001"): ""}  # fmt: skip
    with pbx_inventory.db.session() as session:
        phone = devices.get_device(session, "000b82bb0001")
        devices.update_device(session, phone, caller_id="0312340000")
    assert caller_ids()[("acme", "2001")] == "0312340000"


def test_an_export_adds_new_columns_to_a_database_an_older_export_made(
    pbx_inventory: Service, tmp_path: Path
) -> None:
    target = tmp_path / "pbx.sqlite"
    with sqlite3.connect(target) as db:  # the subscriber table before caller_id existed
        db.execute("create table subscriber (id integer primary key, username varchar(64) not "
                   "null default '', domain varchar(64) not null default '', password varchar(64)"
                   " not null default '', ha1 varchar(128) not null default '', ha1b varchar(128)"
                   " not null default '', tenant varchar(100) not null default '', extension "
                   "varchar(4) not null default '')")  # fmt: skip
    with pbx_inventory.db.session() as session:
        write_directory(target, build_directory(session, pbx_inventory.box, REALM))
    with sqlite3.connect(target) as db:
        rows = set(db.execute("select extension, caller_id from subscriber"))
    assert rows == {("2001", "0312345001"), ("2002", ""), ("2001", "")}


def test_each_account_knows_the_desk_phones_that_carry_it(pbx_inventory: Service) -> None:
    with pbx_inventory.db.session() as session:
        directory = build_directory(session, pbx_inventory.box, REALM)
    desks = {(s.tenant, s.extension): s.desk_macs for s in directory.subscribers}
    assert desks == {("acme", "2001"): "000b82bb0001", ("acme", "2002"): "000b82bb0002",
                     ("other", "2001"): "000b82bb0003"}  # fmt: skip
