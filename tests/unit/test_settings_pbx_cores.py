"""PROVISIONER_PBX_CORE with several cores or DNS SRV, the NAT keep-alive and the expiry."""

from __future__ import annotations

import pytest

from provisioner.domain.inventory.lookup import provisioning_context
from provisioner.settings import Settings, SettingsError


def test_several_cores_primary_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISIONER_PBX_CORE", "pbx-a.example.jp:5060, 192.0.2.7:5080,pbx-c")
    settings = Settings.load().validate()
    assert settings.pbx_cores == (
        ("pbx-a.example.jp", 5060), ("192.0.2.7", 5080), ("pbx-c", 5060)
    )  # fmt: skip
    assert (settings.pbx_host, settings.pbx_port) == ("pbx-a.example.jp", 5060)
    assert settings.pbx_primary == "pbx-a.example.jp:5060"
    ctx = provisioning_context(settings)
    assert (ctx.pbx_host, ctx.pbx_backup, ctx.pbx_srv) == (
        "pbx-a.example.jp",
        ("192.0.2.7", 5080),
        False,
    )


def test_one_core_has_no_backup_and_srv_names_the_domain() -> None:
    single = provisioning_context(Settings(pbx_core="pbx.example.jp"))
    assert (single.pbx_host, single.pbx_port, single.pbx_backup) == ("pbx.example.jp", 5060, None)
    srv = Settings(pbx_core="srv:example.jp").validate()
    assert srv.pbx_srv
    assert srv.pbx_cores == (("example.jp", 5060),)
    assert provisioning_context(srv).pbx_srv


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"pbx_core": "a:5060,b:x"}, "bad port"),
        ({"pbx_core": "a:5060,:5060"}, "without a host"),
        ({"pbx_core": "a:70000"}, "out of range"),
        ({"pbx_core": "srv:"}, "without a host"),
        ({"nat_keepalive": 5}, "NAT_KEEPALIVE"),
        ({"nat_keepalive": 200}, "NAT_KEEPALIVE"),
        ({"registration_expiry": 30}, "REGISTRATION_EXPIRY"),
        ({"file_cache_mib": -1}, "FILE_CACHE_MIB"),
        ({"packed_cache_mib": -8}, "PACKED_CACHE_MIB"),
        ({"prime_devices": -1}, "PRIME_DEVICES"),
    ],
)
def test_bad_values_are_named(values: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings(**values).validate()  # type: ignore[arg-type]


def test_defaults_suit_an_office_nat() -> None:
    settings = Settings()
    assert settings.nat_keepalive < 30  # under the shortest router UDP timeout we expect
    assert settings.registration_expiry == 600
