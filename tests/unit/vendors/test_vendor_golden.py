"""Every sample device's file, byte for byte, against ``tests/golden/<file name>``.

A change in a vendor module or template that changes what a device receives shows here as a
diff to review. After an intended change, regenerate and review the diff with git:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/vendors/test_vendor_golden.py

The golden files are binary to git (``tests/golden/.gitattributes``): Panasonic files must
keep their CR LF line ends.
"""

from __future__ import annotations

import os

import pytest

from provisioner.rendering import render_plan
from tests.support.golden_devices import CONTEXT, GoldenCase, golden_cases
from tests.support.paths import GOLDEN

UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def render(case: GoldenCase) -> bytes:
    plan = case.module.plan(case.request, case.device, CONTEXT)
    assert plan is not None, f"{case.filename} is not served"
    return render_plan(plan)


@pytest.mark.parametrize("case", golden_cases(), ids=lambda case: case.filename)
def test_file_matches_golden(case: GoldenCase) -> None:
    body = render(case)
    golden = GOLDEN / case.filename
    if UPDATE:
        golden.write_bytes(body)
    assert golden.exists(), f"no golden file {golden}: run UPDATE_GOLDEN=1 pytest {__file__}"
    assert body == golden.read_bytes(), f"{case.filename} differs from {golden}"


def test_rendering_is_stable() -> None:
    """The same device renders to the same bytes (no set ordering, no clock, no randomness)."""
    for case in golden_cases():
        assert render(case) == render(case)


def test_every_golden_file_has_a_case() -> None:
    expected = {case.filename for case in golden_cases()}
    present = {path.name for path in GOLDEN.iterdir() if not path.name.startswith(".")}
    assert present == expected
