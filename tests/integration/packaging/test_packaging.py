"""The installed package carries its templates and migrations (a wheel, not only the checkout)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.support.paths import ROOT


def test_wheel_ships_templates_and_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path),
         str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {n for n in names if n.startswith("provisioner/templates/")}
    for vendor in ("grandstream", "panasonic"):
        shipped = {n for n in templates if n.startswith(f"provisioner/templates/{vendor}/")}
        in_repo = {f"provisioner/templates/{vendor}/{p.name}" for p in
                   (ROOT / "templates" / vendor).glob("*.j2")}  # fmt: skip
        assert in_repo
        assert shipped == in_repo
    packages = {p.parent.relative_to(ROOT) for p in (ROOT / "provisioner").rglob("__init__.py")}
    missing = [str(p) for p in packages if f"{p}/__init__.py" not in names]
    assert not missing, f"add to [tool.setuptools] packages: {missing}"
    assert "provisioner/db/migrations/env.py" in names
    assert any(n.startswith("provisioner/db/migrations/versions/0001") for n in names)
    assert any(n.endswith("entry_points.txt") for n in names)
