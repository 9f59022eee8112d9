"""Snippets for routers' DHCP servers (golden text for Yamaha RTX and IOS) and the URL checks;
the real servers' syntax checks of the others are in tests/integration/dhcp."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dhcp_opt66.cli import main
from dhcp_opt66.snippets import snippet
from tests.support.paths import GOLDEN_DHCP

URL = "http://prov.example.jp/zt"


VENDORS = ("grandstream", "panasonic")


@pytest.mark.parametrize("server", ["rtx", "ios"])
@pytest.mark.parametrize("vendor", VENDORS)
def test_router_snippets_match_golden_text(vendor: str, server: str) -> None:
    result = CliRunner().invoke(
        main, ["snippet", "--vendor", vendor, "--server", server, "--url", URL]
    )
    assert result.exit_code == 0, result.output
    assert result.output == (GOLDEN_DHCP / f"{vendor}.{server}.txt").read_text()


def test_panasonic_gets_160_and_a_66_ending_in_slash() -> None:
    text = snippet("panasonic", "dnsmasq", URL)
    assert f'dhcp-option-force=tag:panasonic,160,"{URL}"' in text
    assert f'dhcp-option=tag:panasonic,66,"{URL}/"' in text
    assert "dhcp-mac=set:panasonic,00:80:f0:*:*:*" in text


@pytest.mark.parametrize("url", ['http://x/"; evil', "ftp://x/", "x/y", "http://a b/"])
def test_a_url_that_could_break_a_snippet_is_refused(url: str) -> None:
    result = CliRunner().invoke(main, ["snippet", "--vendor", "grandstream", "--server", "isc",
                                       "--url", url])  # fmt: skip
    assert result.exit_code != 0
    assert "provisioning_url" in result.output
