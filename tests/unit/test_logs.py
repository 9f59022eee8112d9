"""The one logging set-up: JSON and text carry the same fields; called again, it replaces."""

from __future__ import annotations

import json
import logging

import pytest

from provisioner.app.logs import configure_logging


def test_json_lines_carry_time_level_logger_message(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json")
    try:
        logging.getLogger("provisioner.test").warning("für %s", "Zürich")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("provisioner.test").exception("failed")
    finally:
        configure_logging("text")
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert first["level"] == "WARNING"
    assert first["logger"] == "provisioner.test"
    assert first["message"] == "für Zürich"
    assert first["time"].endswith("+00:00")
    assert "ValueError: boom" in second["traceback"]


def test_text_has_the_same_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("text")
    logging.getLogger("provisioner.test").warning("hello")
    line = capsys.readouterr().err.strip()
    assert line.endswith(" WARNING provisioner.test: hello")
