"""``provisioner import`` as a process: bad rows reported on stderr with their line, and the
exit code says whether anything was written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from provisioner.domain.inventory.sheet import sheet_rows
from tests.support.server import TEST_KEY
from tests.support.sheets import row


def test_cli_import_reports_rows_and_exit_code(tmp_path: Path) -> None:
    sheet = tmp_path / "order.csv"
    sheet.write_bytes(sheet_rows([row(), row(mac="zz", extension="1002", direct_number="")]))
    env = {
        **os.environ,
        "PROVISIONER_DB": f"sqlite:///{tmp_path / 'x.db'}",
        "PROVISIONER_SECRET_KEY": TEST_KEY,
    }
    cmd = [sys.executable, "-m", "provisioner", "import", str(sheet)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert f"{sheet}:3: bad MAC 'zz'" in result.stderr
    assert "nothing was written" in result.stderr
    sheet.write_bytes(sheet_rows([row()]))
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "created 1 tenant(s), 1 account(s), 1 device(s)" in result.stderr
