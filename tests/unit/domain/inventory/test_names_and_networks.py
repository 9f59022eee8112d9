"""What a tenant may be called and which networks it may name (issue 17, finding 13)."""

from __future__ import annotations

import pytest

from provisioner.domain.errors import Invalid
from provisioner.domain.inventory.accounts import check_display_name
from provisioner.domain.inventory.tenants import check_name, check_networks


@pytest.mark.parametrize(
    "name",
    [
        "Acme\u202egnp.exe",  # RIGHT-TO-LEFT OVERRIDE: shown as "Acmeexe.png"
        "Ac\u200bme",  # ZERO WIDTH SPACE: looks like "Acme"
        "\u2066Acme\u2069",  # isolates
        "Acme\ufeff",
        "Ac\u200dme",
    ],
)
def test_names_refuse_bidi_overrides_and_zero_width_characters(name: str) -> None:
    with pytest.raises(Invalid, match="bidi overrides or zero-width"):
        check_name(name)
    with pytest.raises(Invalid, match="bidi overrides or zero-width"):
        check_display_name(name)


def test_ordinary_names_still_pass() -> None:
    assert check_name("株式会社アクメ 東京") == "株式会社アクメ 東京"
    assert check_display_name("山田 花子") == "山田 花子"


@pytest.mark.parametrize(
    ("network", "widest"),
    [("0.0.0.0/0", "/8"), ("128.0.0.0/1", "/8"), ("::/0", "/32"), ("2000::/3", "/32")],
)
def test_networks_wider_than_an_allocation_are_refused_by_name(network: str, widest: str) -> None:
    with pytest.raises(Invalid, match=f"allowed network {network} is too wide: at most a {widest}"):
        check_networks(["192.0.2.0/24", network])


def test_office_and_private_networks_pass() -> None:
    wanted = ["10.0.0.0/8", "203.0.113.0/24", "2001:db8::/32", "198.51.100.7/32"]
    assert check_networks(wanted) == wanted
