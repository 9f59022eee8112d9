"""Gateway licences and settings through the command lines, run as processes:
``provisioner licence|gateway`` and ``gateway32 check-licence``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from provisioner.app.service import Service
from tests.support.api import Api
from tests.support.gateway_inventory import add_gateway, tenant_named
from tests.support.server import TEST_KEY
from tests.unit.domain.gateways import test_gateway_admin as unit
from tests.unit.domain.gateways.test_gateway_admin import OURS, THEIRS

api = unit.api  # the fixture: tenants acme and rival, with accounts and a representative


def run(
    service: Service, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {"PROVISIONER_DB": service.settings.db, "PROVISIONER_SECRET_KEY": TEST_KEY,
            "PATH": "/usr/bin:/bin"}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", *args], env=base | (env or {}), capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture
def issued(api: Api, tmp_path: Path) -> dict[str, Path]:
    """Licences made with the CLI: ours now, ours long expired, the rival gateway's; the key."""
    service = api.service
    with service.db.session() as session:
        add_gateway(session, service.box, OURS, tenant_named(session, "acme"), {})
        add_gateway(session, service.box, THEIRS, tenant_named(session, "rival"), {})
    files: dict[str, Path] = {}
    for name, args in (
        ("ours", [OURS, "--channels", "8", "--days", "30"]),
        ("expired", [OURS, "--channels", "8", "--days", "1", "--not-before", "2020-01-01"]),
        ("theirs", [THEIRS, "--channels", "4", "--days", "30"]),
    ):
        done = run(service, "provisioner", "licence", "issue", *args)
        assert done.returncode == 0, done.stderr
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(done.stdout)
    done = run(service, "provisioner", "licence", "public-key")
    assert done.returncode == 0, done.stderr
    files["key"] = tmp_path / "issuer.pem"
    files["key"].write_text(done.stdout)
    return files


def check(service: Service, files: dict[str, Path], name: str) -> subprocess.CompletedProcess[str]:
    env = {"GATEWAY32_ISSUER_KEY": str(files["key"]), "GATEWAY32_MAC": OURS}
    return run(service, "gateway32", "check-licence", str(files[name]), env=env)


def test_gateway32_accepts_the_issued_licence_and_refuses_the_rest(
    api: Api, issued: dict[str, Path]
) -> None:
    service = api.service
    good = check(service, issued, "ours")
    assert good.returncode == 0, good.stderr
    assert "8 channels" in good.stdout
    expired = check(service, issued, "expired")
    assert expired.returncode == 1
    assert "expired at 2020-01-02T00:00:00Z" in expired.stderr
    foreign = check(service, issued, "theirs")
    assert foreign.returncode == 1
    assert f"is for gateway {THEIRS}, not this one ({OURS})" in foreign.stderr
    document = json.loads(issued["ours"].read_text())
    document["licence"]["channels"] = 32
    issued["tampered"] = issued["ours"].with_name("tampered.json")
    issued["tampered"].write_text(json.dumps(document))
    tampered = check(service, issued, "tampered")
    assert tampered.returncode == 1
    assert "signature does not match" in tampered.stderr
    # listed and shown by the CLI too
    listed = run(service, "provisioner", "licence", "list", "--gateway", OURS)
    assert listed.returncode == 0, listed.stderr
    shown = run(service, "provisioner", "licence", "show", document["licence"]["serial"])
    assert json.loads(shown.stdout) == json.loads(issued["ours"].read_text())


def test_the_gateway_commands(api: Api) -> None:
    service = api.service
    steps = [
        ("gateway", "add", "00:11:22:33:44:AB", "--tenant", "acme"),
        ("gateway", "set", OURS, "--trunk", "192.0.2.10:5070", "--core", "127.0.0.1:5080",
         "--refusal", "unavailable", "--max-call-seconds", "600"),
        ("gateway", "number", "add", OURS, "03-1234-5678", "2002"),
        ("licence", "issue", OURS, "--channels", "32", "--days", "7"),
    ]  # fmt: skip
    for step in steps:
        done = run(service, "provisioner", *step)
        assert done.returncode == 0, (step, done.stderr)
    config = run(service, "provisioner", "gateway", "config", OURS)
    assert config.returncode == 0, config.stderr
    document = json.loads(config.stdout)
    assert document["numbers"] == [{"did": "0312345678", "destination": "2002"}]
    assert document["trunk"] == {
        "host": "192.0.2.10", "port": 5070, "transport": "udp", "registration": None,
    }  # fmt: skip
    assert document["refusal"] == "unavailable"
    assert document["max_call_seconds"] == 600
    assert document["default_caller_id"] == "0312345678"
    assert document["licence"]["licence"]["channels"] == 32
    refused = run(service, "provisioner", "gateway", "number", "add", OURS, "0312345679", "3001")
    assert refused.returncode == 1
    assert "acme has no extension 3001" in refused.stderr
    listed = run(service, "provisioner", "gateway", "number", "list", OURS)
    assert "0312345678" in listed.stdout
    assert "0312345679" not in listed.stdout


def test_the_trunk_account_is_set_from_the_environment_and_never_printed(api: Api) -> None:
    service = api.service
    with service.db.session() as session:
        add_gateway(session, service.box, OURS, tenant_named(session, "acme"),
                    {"0312345678": "2001"})  # fmt: skip
    refused = run(service, "provisioner", "gateway", "set", OURS, "--trunk-register")
    assert refused.returncode == 1
    assert "needs the carrier account" in refused.stderr
    secret = {"PROVISIONER_TRUNK_PASSWORD": "Tr5nk!pw"}
    done = run(service, "provisioner", "gateway", "set", OURS, "--trunk-register",
               "--trunk-user", "0312345678", "--trunk-outbound-proxy", "192.0.2.7:5062",
               env=secret)  # fmt: skip
    assert done.returncode == 0, done.stderr
    config = run(service, "provisioner", "gateway", "config", OURS)
    assert config.returncode == 0, config.stderr
    registration = json.loads(config.stdout)["trunk"]["registration"]
    assert registration["user"] == "0312345678"
    assert registration["outbound_proxy"] == {"host": "192.0.2.7", "port": 5062}
    assert registration["password"] == "********"
    assert "Tr5nk!pw" not in config.stdout + config.stderr + done.stdout + done.stderr
