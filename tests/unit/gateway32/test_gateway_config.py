"""config.json, settings and CDR events as gateway32 reads them: bad input named, never used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway32.cdr import CdrFile, record_from_line
from gateway32.config import ConfigError, parse_config
from gateway32.kamailio import dispatcher_list, render
from gateway32.licence import LicenceError, public_key_pem
from gateway32.settings import Settings, SettingsError
from gateway32.supervisor import registration_failure
from tests.support.gateway_engine import GATEWAY_MAC, Issuer, gateway_config


def _parse(issuer: Issuer, config: dict[str, object]) -> object:
    return parse_config(json.dumps(config).encode(), public_key_pem(issuer.key), GATEWAY_MAC)


def test_a_good_config_is_read_whole(issuer: Issuer) -> None:
    config = gateway_config(issuer.licence(8), trunk_port=5070, cores=[5080, 5081],
                            numbers={"0312345678": "2001", "0399990000": "2001"})  # fmt: skip
    parsed = _parse(issuer, config)
    assert parsed.licence.channels == 8  # type: ignore[attr-defined]
    assert [core.port for core in parsed.cores] == [5080, 5081]  # type: ignore[attr-defined]
    assert parsed.caller_ids() == {"2001": "0312345678"}  # type: ignore[attr-defined]
    assert dispatcher_list(parsed).splitlines()[1:] == [  # type: ignore[arg-type]
        "1 sip:127.0.0.1:5080 0 2 duid=core0",
        "1 sip:127.0.0.1:5081 0 1 duid=core1",
    ]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"numbers": [{"did": "03-1234", "destination": "2001"}]}, "not a telephone number"),
        ({"numbers": [{"did": "0312345678", "destination": "a b"}]}, "not a SIP user part"),
        ({"numbers": "0312345678"}, "numbers must be a list"),
        ({"refusal": "silence"}, "refusal must be one of busy, unavailable"),
        ({"cores": []}, "cores must be a non-empty list"),
        ({"trunk": {"host": "127.0.0.1", "port": 70000}}, "trunk.port must be 1-65535"),
        ({"trunk": {"host": "127.0.0.1", "port": 5070, "transport": "tls"}}, "udp only"),
        ({"trunk": {"host": "no-such-host.invalid", "port": 5070}}, "does not resolve"),
        ({"max_call_seconds": 0}, "max_call_seconds must be"),
        ({"default_caller_id": "x"}, "default_caller_id is missing or malformed"),
        ({"tenant": 'a"b'}, "tenant is missing or malformed"),
        ({"licence": None}, "no 'licence' object"),
    ],
)
def test_a_bad_config_is_refused_and_named(
    issuer: Issuer, change: dict[str, object], problem: str
) -> None:
    config = {**gateway_config(issuer.licence(4), trunk_port=5070, cores=[5080]), **change}
    with pytest.raises(ConfigError, match=problem):
        _parse(issuer, config)


def test_licence_for_another_tenant_or_issuer_is_refused(issuer: Issuer, tmp_path: Path) -> None:
    config = {**gateway_config(issuer.licence(4), trunk_port=5070, cores=[5080]), "tenant": "xyz"}
    with pytest.raises(LicenceError, match="is for tenant acme, not xyz"):
        _parse(issuer, config)
    (tmp_path / "stranger").mkdir()
    stranger = Issuer.create(tmp_path / "stranger")
    foreign = gateway_config(stranger.licence(4), trunk_port=5070, cores=[5080])
    with pytest.raises(LicenceError, match="signature does not match"):
        _parse(issuer, foreign)
    with pytest.raises(ConfigError, match="not JSON"):
        parse_config(b"{", public_key_pem(issuer.key), GATEWAY_MAC)


def test_settings_from_environment_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY32_SIP", "127.0.0.1:15060")
    monkeypatch.setenv("GATEWAY32_MEDIA_RELAY", "off")
    monkeypatch.setenv("GATEWAY32_CHILDREN", "2")
    settings = Settings.load()
    assert (settings.sip_port, settings.media_relay, settings.children) == (15060, False, 2)
    for name, value, problem in [
        ("GATEWAY32_SIP", "localhost", "must be IP:port"),
        ("GATEWAY32_CHILDREN", "many", "must be a number"),
        ("GATEWAY32_MEDIA_RELAY", "maybe", "must be true or false"),
        ("GATEWAY32_KEEPALIVE_INTERVAL", "5", "below 30 s"),
        ("GATEWAY32_STATE_DIR", "/tmp/" + "x" * 120, "longer than a unix socket allows"),
    ]:
        with monkeypatch.context() as scoped:
            scoped.setenv(name, value)
            with pytest.raises(SettingsError, match=problem):
                Settings.load()


def test_settings_file_rejects_unknown_names(tmp_path: Path) -> None:
    path = tmp_path / "gateway32.toml"
    path.write_text('sip = "127.0.0.1:15060"\nchanels = 4\n')
    with pytest.raises(SettingsError, match="unknown settings: chanels"):
        Settings.load(path)


def test_rendered_kamailio_config_carries_the_licence_and_numbers(
    issuer: Issuer, tmp_path: Path
) -> None:
    settings = Settings(state_dir=str(tmp_path), sip="127.0.0.1:15060", media_relay=True)
    config = _parse(issuer, gateway_config(issuer.licence(16), trunk_port=5070, cores=[5080]))
    text = render(settings, config).read_text()  # type: ignore[arg-type]
    assert "$sht(gw=>channels) = 16;" in text
    assert '$sht(did=>0312345678) = "2001";' in text
    assert "listen=udp:127.0.0.1:15060" in text
    assert 'loadmodule "rtpengine.so"' in text
    assert "Retry-After" not in text.replace("no Retry-After", "")


def test_cdr_events_become_complete_durable_records(tmp_path: Path) -> None:
    line = (
        ' 3(123) NOTICE: <script>: GW32CDR {"call_id":"c1","direction":"inbound",'
        '"did":"0312345678","tenant":"acme","from":"sip:a@h","to":"sip:b@h",'
        '"start":"1764614400.123456","emergency":0,"channels_in_use":2,'
        '"end":"1764614401.5","sip_code":486}'
    )
    record = record_from_line(line)
    assert record == {
        "call_id": "c1", "direction": "inbound", "did": "0312345678", "tenant": "acme",
        "from": "sip:a@h", "to": "sip:b@h", "start": "2025-12-01T18:40:00.123Z", "answer": None,
        "end": "2025-12-01T18:40:01.500Z", "result": "busy", "sip_code": 486, "q850": 17,
        "channels_in_use": 2, "emergency": False,
    }  # fmt: skip
    assert record_from_line(" 1(2) ERROR: tm: something else") is None
    assert record_from_line("GW32CDR {not json") is None
    cdrs = CdrFile(tmp_path / "cdr.jsonl")
    cdrs.append([record, record])
    cdrs.close()
    lines = (tmp_path / "cdr.jsonl").read_text().splitlines()
    assert [json.loads(text)["call_id"] for text in lines] == ["c1", "c1"]


def test_an_acc_cdr_line_becomes_an_answered_record() -> None:
    line = (
        " 4(11448) NOTICE: acc [acc_cdr.c:395]: log_write_cdr(): start_time=1764614400.001; "
        "end_time=1764614460.250; duration=60.249; gw32answer=1764614400.002500; "
        'gw32cdr={"call_id":"c2","direction":"outbound","did":"0312345678","tenant":"acme",'
        '"from":"sip:2001@h;transport=udp","to":"sip:110@h","start":"1764614399.9",'
        '"emergency":1,"channels_in_use":5}'
    )
    record = record_from_line(line)
    assert record is not None
    assert (record["answer"], record["end"]) == (
        "2025-12-01T18:40:00.002Z",
        "2025-12-01T18:41:00.250Z",
    )
    assert (record["result"], record["sip_code"], record["q850"]) == ("answered", 200, 16)
    assert record["from"] == "sip:2001@h;transport=udp"
    assert record["emergency"] is True
    assert record_from_line(line.replace("gw32cdr={", "gw32cdr=")) is None  # no JSON: no record


_ACCOUNT = {"user": "0312345678", "password": "s3cret:x", "expires": 600}


def test_a_registered_trunk_is_read_and_its_password_kept_out_of_reprs(issuer: Issuer) -> None:
    proxy = {"host": "127.0.0.1", "port": 5090}
    config = gateway_config(issuer.licence(4), trunk_port=5070, cores=[5080],
                            registration={**_ACCOUNT, "outbound_proxy": proxy})  # fmt: skip
    parsed = _parse(issuer, config)
    registration = parsed.registration  # type: ignore[attr-defined]
    assert registration.user == registration.auth_user == "0312345678"
    assert registration.domain == "127.0.0.1:5070"  # no registrar given: the trunk registers us
    assert registration.expires == 600
    assert "s3cret" not in repr(parsed)
    # the carrier's requests come from the trunk or its outbound proxy, nothing else
    sources = parsed.carrier_sources()  # type: ignore[attr-defined]
    assert [(peer.host, peer.port) for peer in sources] == [
        ("127.0.0.1", 5070),
        ("127.0.0.1", 5090),
    ]
    plain = _parse(issuer, gateway_config(issuer.licence(4), trunk_port=5070, cores=[5080]))
    assert plain.registration is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"user": "a b"}, "trunk.registration.user is missing or malformed"),
        ({"auth_user": 'x"y'}, "trunk.registration.auth_user is malformed"),
        ({"password": "with space"}, "password is missing or has characters not allowed"),
        ({"password": ""}, "password is missing"),
        ({"expires": 5}, "expires must be 60-86400"),
        ({"registrar": {"host": "127.0.0.1", "port": 0}}, "registrar.port must be 1-65535"),
    ],
)
def test_a_bad_trunk_account_is_refused_without_echoing_the_password(
    issuer: Issuer, change: dict[str, object], problem: str
) -> None:
    config = gateway_config(issuer.licence(4), trunk_port=5070, cores=[5080],
                            registration={**_ACCOUNT, **change})  # fmt: skip
    with pytest.raises(ConfigError, match=problem) as refused:
        _parse(issuer, config)
    assert "with space" not in str(refused.value)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (" 4(1) ERROR: uac [uac_reg.c:933]: uac_reg_tm_callback(): authentication failed for "
         "<0312345678>", "the carrier refused the credentials (wrong user or password)"),
        (" 4(1) ERROR: uac [uac_reg.c:990]: uac_reg_tm_callback(): got sip response 403 while "
         "registering [0312345678]", "the carrier answered 403"),
        (" 1(1) NOTICE: <script>: GW32CDR {}", None),
    ],
)  # fmt: skip
def test_registration_failures_are_read_from_kamailio_lines(line: str, reason: str | None) -> None:
    assert registration_failure(line) == reason


def test_register_retry_is_a_whole_step_at_least(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY32_REGISTER_TIMER", "10")
    monkeypatch.setenv("GATEWAY32_REGISTER_RETRY", "30")
    # uac_reg retries up to its timer + 3 s early: it gets the difference on top
    assert Settings.load().uac_retry_interval == 43
    monkeypatch.setenv("GATEWAY32_REGISTER_RETRY", "5")
    with pytest.raises(SettingsError, match="REGISTER_RETRY must be at least"):
        Settings.load()
