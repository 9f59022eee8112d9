"""The rendered Kamailio configuration as Kamailio itself checks it (kamailio -c)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gateway32.kamailio import render
from gateway32.kamailio_modules import kamailio_modules_dir
from gateway32.settings import Settings
from tests.support.gateway_engine import Issuer, gateway_config
from tests.unit.gateway32.test_gateway_config import _parse

pytestmark = pytest.mark.sip


@pytest.mark.parametrize("media_relay", [True, False])
def test_kamailio_accepts_the_rendered_config(
    issuer: Issuer, tmp_path: Path, media_relay: bool
) -> None:
    settings = Settings(state_dir=str(tmp_path), sip="127.0.0.1:15060", media_relay=media_relay)
    config = _parse(issuer, gateway_config(issuer.licence(4), trunk_port=5070, cores=[5080]))
    path = render(settings, config)  # type: ignore[arg-type]
    checked = subprocess.run(
        [settings.kamailio, "-c", "-f", str(path)], capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert "config file ok" in checked.stdout + checked.stderr


def test_kamailio_modules_come_from_the_machine_unless_set(issuer: Issuer, tmp_path: Path) -> None:
    """No architecture's path is written in: Kamailio says where its modules are."""
    found = kamailio_modules_dir(Settings().kamailio)
    assert (found / "tm.so").is_file()
    config = _parse(issuer, gateway_config(issuer.licence(4), trunk_port=5070, cores=[5080]))
    settings = Settings(state_dir=str(tmp_path), sip="127.0.0.1:15060")
    assert f'mpath="{found}/"' in render(settings, config).read_text()  # type: ignore[arg-type]
    chosen = Settings(state_dir=str(tmp_path), sip="127.0.0.1:15060", kamailio_modules="/opt/k/")
    assert 'mpath="/opt/k/"' in render(chosen, config).read_text()  # type: ignore[arg-type]
