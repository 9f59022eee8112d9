"""The CLI's logging as a user's shell sees it: Alembic's steps only with -v."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.server import TEST_KEY
from tests.unit.cli.test_cli_context import sqlite


def cli_stderr(tmp_path: Path, *args: str) -> str:
    """A real process: logging is configured as a user's shell gets it, not as pytest's."""
    env = {**os.environ, "PROVISIONER_SECRET_KEY": TEST_KEY}
    done = subprocess.run(
        [sys.executable, "-m", "provisioner", *args], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stderr


def test_alembic_reports_its_steps_only_with_verbose(tmp_path: Path) -> None:
    quiet = cli_stderr(tmp_path, "db", "upgrade", "--db", sqlite(tmp_path / "quiet.db"))
    assert "alembic" not in quiet
    assert "Running upgrade" not in quiet
    assert "schema is at the newest revision" in quiet
    loud = cli_stderr(tmp_path, "-v", "db", "upgrade", "--db", sqlite(tmp_path / "loud.db"))
    assert "INFO alembic.runtime.migration: Running upgrade" in loud
    after = cli_stderr(tmp_path, "db", "upgrade", "-v", "--db", sqlite(tmp_path / "after.db"))
    assert "Running upgrade" in after
