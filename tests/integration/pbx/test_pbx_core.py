"""The shared PBX core: the export fills Kamailio's subscriber table, a SIPp phone registers."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from provisioner.app.service import Service
from provisioner.db.models import Tenant
from provisioner.domain.inventory import accounts
from provisioner.pbx.core_config import CoreConfigError, CoreSettings, Peer, render_core_config
from provisioner.pbx.directory import GLOBAL_DOMAIN, tenant_domain
from tests.support.pbx_support import REALM, Core, account_credentials, register, start_core
from tests.support.server import TEST_KEY

pytestmark = pytest.mark.sip


def test_export_stores_ha1_not_passwords_and_scopes_extensions(
    pbx_inventory: Service, tmp_path: Path
) -> None:
    target = tmp_path / "pbx.sqlite"
    env = {"PROVISIONER_DB": pbx_inventory.settings.db, "PROVISIONER_SECRET_KEY": TEST_KEY}
    done = subprocess.run(
        [sys.executable, "-m", "provisioner", "pbx", "export", "--to", str(target),
         "--realm", REALM],
        env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    user, password = account_credentials(pbx_inventory, "acme", "2001")
    with sqlite3.connect(target) as db:
        rows = {r[0]: r[1:] for r in db.execute("select username, password, ha1, ha1b, tenant "
                                                 "from subscriber")}  # fmt: skip
        aliases = set(db.execute("select alias_username, alias_domain, username from dbaliases"))
        versions = dict(db.execute("select table_name, table_version from version"))
    assert len(rows) == 3
    stored_password, ha1, ha1b, tenant = rows[user]
    assert stored_password == ""
    assert password not in str(rows)
    assert (
        ha1 == hashlib.md5(f"{user}:{REALM}:{password}".encode(), usedforsecurity=False).hexdigest()
    )
    assert (
        ha1b
        == hashlib.md5(
            f"{user}@{REALM}:{REALM}:{password}".encode(), usedforsecurity=False
        ).hexdigest()
    )
    assert tenant == "acme"
    assert versions["subscriber"] == 7
    assert versions["dbaliases"] == 1
    other_user, _ = account_credentials(pbx_inventory, "other", "2001")
    assert ("2001", tenant_domain("acme"), user) in aliases
    assert ("2001", tenant_domain("other"), other_user) in aliases
    assert ("0312345001", GLOBAL_DOMAIN, user) in aliases
    assert ("0312340000", GLOBAL_DOMAIN, user) in aliases  # representative: rings the GXP


def test_core_config_loads_modules_from_where_this_machine_keeps_them(tmp_path: Path) -> None:
    """The mpath is Kamailio's own (any architecture), or the directory a caller gives."""
    settings = CoreSettings(Peer("127.0.0.1", 5060), REALM, tmp_path / "pbx.sqlite", tmp_path)
    found = render_core_config(settings).split('mpath="', 1)[1].split('"', 1)[0]
    assert (Path(found) / "tm.so").is_file()
    given = CoreSettings(**{**settings.__dict__, "modules_dir": tmp_path / "modules"})
    assert f'mpath="{tmp_path}/modules/"' in render_core_config(given)
    with pytest.raises(CoreConfigError, match="modules directory"):
        render_core_config(CoreSettings(**{**settings.__dict__, "modules_dir": Path('/a"b')}))


def test_phone_registers_with_its_credentials_and_not_with_a_wrong_password(
    pbx_inventory: Service, pbx_core: Core, tmp_path: Path
) -> None:
    user, password = account_credentials(pbx_inventory, "acme", "2001")
    assert register(tmp_path, pbx_core.port, user, password, contact_port=5999) == "200"
    assert register(tmp_path, pbx_core.port, user, password + "x", contact_port=5999) in (
        "401",
        "403",
    )
    other_user, _ = account_credentials(pbx_inventory, "other", "2001")
    # Another account's password does not open this one.
    _, other_password = account_credentials(pbx_inventory, "other", "2001")
    assert register(tmp_path, pbx_core.port, user, other_password, contact_port=5999) in (
        "401",
        "403",
    )
    assert register(tmp_path, pbx_core.port, other_user, other_password, contact_port=5999) == "200"


def test_a_watching_export_lets_a_new_account_register_without_a_restart(
    pbx_inventory: Service, tmp_path: Path
) -> None:
    db_path = tmp_path / "pbx.sqlite"
    env = {"PROVISIONER_DB": pbx_inventory.settings.db, "PROVISIONER_SECRET_KEY": TEST_KEY,
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    watcher = subprocess.Popen(
        [sys.executable, "-m", "provisioner", "pbx", "export", "--to", str(db_path),
         "--realm", REALM, "--watch", "0.3"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    core = None
    try:
        deadline = time.monotonic() + 30
        while not _subscribers(db_path) and time.monotonic() < deadline:
            time.sleep(0.2)
        core = start_core(tmp_path, db_path)
        with pbx_inventory.db.session() as session:
            acme = session.query(Tenant).filter(Tenant.name == "acme").one()
            accounts.create_account(session, pbx_inventory.box, acme, extension="2003",
                                direct_number="", display_name="New")  # fmt: skip
        user, password = account_credentials(pbx_inventory, "acme", "2003")
        while user not in _subscribers(db_path) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert register(tmp_path, core.port, user, password, contact_port=5999) == "200"
    finally:
        if core is not None:
            core.stop()
        watcher.terminate()
        watcher.wait(timeout=20)


def _subscribers(db_path: Path) -> set[str]:
    try:
        with sqlite3.connect(db_path) as db:
            return {row[0] for row in db.execute("select username from subscriber")}
    except sqlite3.Error:
        return set()
