"""gateway32's licence under load and at its edges: exact under bursts, refused when forged.

Real peers only: SIPp as the carrier and the PBX core, the real ``gateway32 run`` with Kamailio.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import socket
import time
from pathlib import Path

import pytest

from tests.support.gateway_engine import (
    Issuer,
    gateway_cli,
    gateway_config,
    gateway_env,
    running_gateway,
    start_gateway,
    stop_gateway,
    write_config,
)
from tests.support.ports import free_udp_port
from tests.support.sip_harness import SipLab, Sipp, SippRun

pytestmark = pytest.mark.sip


def _one_core(lab: SipLab, issuer: Issuer, channels: int) -> tuple[Sipp, int, dict[str, object]]:
    """A PBX core answering at once, the trunk port the carrier calls from, their config."""
    core = lab.uas("uas_pbx_fast.xml")
    trunk = free_udp_port()
    return (
        core,
        trunk,
        gateway_config(issuer.licence(channels), trunk_port=trunk, cores=[core.port]),
    )


def _burst(lab: SipLab, gw_address: str, trunk_port: int, calls: int, hold_ms: int) -> SippRun:
    return lab.uac(
        gw_address, "uac_limit.xml", calls=calls, rate=2000, limit=calls, hold_ms=hold_ms,
        port=trunk_port, seconds=40,
    )  # fmt: skip


@pytest.mark.parametrize("channels", [4, 32])
def test_licence_is_exact_under_a_burst_of_1000(lab: SipLab, issuer: Issuer, channels: int) -> None:
    _core, trunk, config = _one_core(lab, issuer, channels)
    with running_gateway(issuer, config) as gw:
        for _ in range(2):  # every run, not once
            # held longer than the burst lasts even on a loaded machine: no channel frees mid-burst
            run = _burst(lab, gw.address, trunk, calls=1000, hold_ms=8000)
            assert run.answered == channels, run.describe()
            assert run.count("486") == 1000 - channels, run.describe()
            assert run.failed == 0, run.describe()
            finals = run.events("final")
            assert {f["code"] for f in finals} == {"486"}
            assert all("cause=17" in f["reason"] for f in finals)
            assert not any(f["retry_after"] for f in finals)
            assert gw.wait_channels(0) == 0
        records = gw.wait_cdrs(2000)
    assert len(records) == 2000
    answered = [r for r in records if r["result"] == "answered"]
    assert len(answered) == 2 * channels
    assert max(int(str(r["channels_in_use"])) for r in records) == channels
    assert all(r["answer"] and r["q850"] == 16 for r in answered)
    refused = [r for r in records if r["result"] == "refused_licence"]
    assert len(refused) == 2 * (1000 - channels)
    assert {(r["sip_code"], r["q850"]) for r in refused} == {(486, 17)}
    assert {r["direction"] for r in records} == {"inbound"}
    assert {r["tenant"] for r in records} == {"acme"}


def test_refusal_can_be_a_bare_503(lab: SipLab, issuer: Issuer) -> None:
    core = lab.uas("uas_pbx_fast.xml")
    trunk = free_udp_port()
    config = gateway_config(
        issuer.licence(4), trunk_port=trunk, cores=[core.port], refusal="unavailable"
    )
    with running_gateway(issuer, config) as gw:
        run = _burst(lab, gw.address, trunk, calls=10, hold_ms=2000)
        assert run.answered == 4, run.describe()
        finals = run.events("final")
        assert [f["code"] for f in finals] == ["503"] * 6
        assert not any(f["reason"] or f["retry_after"] for f in finals)
        assert gw.wait_channels(0) == 0


def _tampered(document: dict[str, object]) -> dict[str, object]:
    forged = copy.deepcopy(document)
    terms = forged["licence"]
    assert isinstance(terms, dict)
    terms["channels"] = 32
    return forged


def test_a_tampered_licence_is_refused_and_named(tmp_path: Path, issuer: Issuer) -> None:
    forged = _tampered(issuer.licence(4))
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    state = tmp_path / "state"
    state.mkdir()
    sip = f"127.0.0.1:{free_udp_port()}"
    env = gateway_env(state, issuer, sip)
    check = gateway_cli(env, "check-licence", str(tmp_path / "forged.json"))
    assert check.returncode == 1
    assert "signature does not match" in check.stderr
    write_config(state, gateway_config(forged, trunk_port=free_udp_port(), cores=[5080]))
    process = start_gateway(state, env)
    try:
        assert process.wait(timeout=30) == 1
    finally:
        stop_gateway(process)
    assert "not started: licence signature does not match" in (state / "gateway32.log").read_text()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # nothing listens there
        sock.bind(("127.0.0.1", int(sip.rsplit(":", 1)[1])))


@pytest.mark.parametrize(
    ("licence_options", "problem"),
    [
        ({"days": -1, "starts_days": -10}, "expired at"),
        ({"gateway": "aabbccddeeff"}, "is for gateway aabbccddeeff"),
    ],
)
def test_check_licence_names_expired_and_foreign(
    tmp_path: Path, issuer: Issuer, licence_options: dict[str, object], problem: str
) -> None:
    document = issuer.licence(8, **licence_options)  # type: ignore[arg-type]
    (tmp_path / "licence.json").write_text(json.dumps(document))
    env = gateway_env(tmp_path, issuer, "127.0.0.1:5060")
    check = gateway_cli(env, "check-licence", str(tmp_path / "licence.json"))
    assert check.returncode == 1
    assert problem in check.stderr


def test_check_licence_accepts_a_good_one(tmp_path: Path, issuer: Issuer) -> None:
    config = gateway_config(issuer.licence(16), trunk_port=5070, cores=[5080])
    (tmp_path / "config.json").write_text(json.dumps(config))
    env = gateway_env(tmp_path, issuer, "127.0.0.1:5060")
    check = gateway_cli(env, "check-licence", str(tmp_path / "config.json"))
    assert check.returncode == 0, check.stderr
    assert "licence GW32-0001 valid: tenant acme" in check.stdout
    assert "16 channels" in check.stdout


def test_reload_raises_the_limit_without_dropping_calls_and_keeps_it_on_a_forged_one(
    lab: SipLab, issuer: Issuer
) -> None:
    core, trunk, config = _one_core(lab, issuer, 4)
    with running_gateway(issuer, config) as gw:
        held = lab.start_uac(gw.address, "uac_limit.xml", calls=3, rate=50, hold_ms=8000,
                             port=trunk, seconds=30)  # fmt: skip
        assert gw.wait_channels(3) == 3
        forged = gateway_config(_tampered(issuer.licence(4)), trunk_port=trunk, cores=[core.port])
        write_config(gw.state_dir, forged)
        refused = gw.cli("reload")
        assert refused.returncode == 1
        assert "signature does not match" in refused.stderr
        status = gw.status()
        assert status["channels"] == 4
        assert "signature does not match" in str(status["licence_refused"])
        write_config(
            gw.state_dir,
            gateway_config(issuer.licence(8, serial="GW32-0002"), trunk_port=trunk,
                           cores=[core.port]),
        )  # fmt: skip
        done = gw.cli("reload")
        assert done.returncode == 0, done.stderr
        assert "GW32-0002, 8 channels" in done.stdout
        assert gw.channels_in_use() == 3  # the calls in progress survived the reload
        assert held.wait(timeout=30).successful == 3  # ... and hung up through the gateway
        assert gw.wait_channels(0) == 0
        run = _burst(lab, gw.address, trunk, calls=20, hold_ms=2000)
        assert run.answered == 8, run.describe()
        assert gw.wait_channels(0) == 0


def test_a_second_gateway_on_a_taken_port_refuses_to_start(lab: SipLab, issuer: Issuer) -> None:
    core = lab.uas("uas_pbx_fast.xml")
    config = gateway_config(issuer.licence(4), trunk_port=free_udp_port(), cores=[core.port])
    with running_gateway(issuer, config) as gw:
        second = gw.state_dir.parent / (gw.state_dir.name + "-b")
        second.mkdir()
        try:
            env = gateway_env(second, issuer, gw.address)
            write_config(second, config)
            process = start_gateway(second, env)
            try:
                assert process.wait(timeout=30) == 1
            finally:
                stop_gateway(process)
            log = (second / "gateway32.log").read_text()
            assert f"SIP address {gw.address} is already in use" in log
            assert gw.status()["channels"] == 4  # the first one still serves
        finally:
            for path in sorted(second.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
            second.rmdir()


def test_a_licence_that_expires_while_running_stops_new_calls(lab: SipLab, issuer: Issuer) -> None:
    core = lab.uas("uas_pbx_fast.xml")
    trunk = free_udp_port()
    licence = issuer.licence(4, days=8 / 86400)  # eight seconds from now
    terms = licence["licence"]
    assert isinstance(terms, dict)
    expires = dt.datetime.fromisoformat(str(terms["expires"]))
    config = gateway_config(licence, trunk_port=trunk, cores=[core.port])
    with running_gateway(issuer, config) as gw:
        assert gw.status()["licence_expired"] is False
        time.sleep(max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()) + 0.5)
        run = lab.uac(gw.address, "uac_expect_error.xml", calls=2, rate=10, port=trunk)
        finals = run.events("final")
        assert [f["code"] for f in finals] == ["503", "503"], run.describe()
        assert not any(f["retry_after"] for f in finals)
        assert gw.status()["licence_expired"] is True
        assert "EXPIRED" in gw.cli("status").stdout
        records = gw.wait_cdrs(2)
    assert [(r["result"], r["sip_code"]) for r in records] == [("refused_licence", 503)] * 2


def test_run_serves_the_last_good_config_when_the_provisioner_is_unreachable(
    lab: SipLab, issuer: Issuer
) -> None:
    _core, trunk, config = _one_core(lab, issuer, 4)
    nowhere = {"provisioner_url": f"https://127.0.0.1:{free_udp_port()}", "http_user": "gw",
               "http_password": "secret", "cdr_upload_seconds": "1"}  # fmt: skip
    with running_gateway(issuer, config, **nowhere) as gw:
        run = lab.uac(gw.address, "uac_limit.xml", calls=2, rate=10, hold_ms=200, port=trunk)
        assert run.answered == 2, f"{run.describe()}\n{gw.log()}"
        assert gw.wait_cdrs(2)
        deadline = time.monotonic() + 10
        while "CDR upload" not in gw.log() and time.monotonic() < deadline:
            time.sleep(0.2)
        log = gw.log()
    assert "provisioner: provisioner unreachable" in log
    assert "keeping the last good configuration" in log
    assert "CDR upload: " in log
    assert "secret" not in log
