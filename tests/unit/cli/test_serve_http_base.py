"""`serve` derives the URL rendered files carry from its listener when none is configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.app.runner import HttpListener
from provisioner.cli.serve import HTTP_BASE_ENV, _derived_http_base


def test_the_listener_names_the_base_unless_one_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(HTTP_BASE_ENV, raising=False)
    listeners = [HttpListener("127.0.0.1", 8081)]
    assert _derived_http_base(listeners, None) == "http://127.0.0.1:8081"
    assert _derived_http_base([HttpListener("::1", 9000)], None) == "http://[::1]:9000"
    assert _derived_http_base([HttpListener("0.0.0.0", 8081)], None) is None  # noqa: S104
    assert _derived_http_base([], None) is None
    toml = tmp_path / "settings.toml"
    toml.write_text('http_base = "http://prov.example.jp"\n')
    assert _derived_http_base(listeners, toml) is None
    toml.write_text('pbx_core = "192.0.2.1:5060"\n')
    assert _derived_http_base(listeners, toml) == "http://127.0.0.1:8081"
    monkeypatch.setenv(HTTP_BASE_ENV, "http://prov.example.jp")
    assert _derived_http_base(listeners, None) is None
