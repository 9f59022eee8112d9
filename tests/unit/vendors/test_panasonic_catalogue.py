"""Every parameter of every Panasonic file, golden and rendered for each model, against the
catalogue (``provisioner/vendors/panasonic/catalogue.py``), and proof that the check catches an
unknown name, a line index beyond the model's lines and a value outside its rule.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from provisioner.rendering import render_plan
from provisioner.vendors import panasonic
from provisioner.vendors.base import DeviceView, KeyType, KeyView, ModelInfo, RenderError
from provisioner.vendors.panasonic import catalogue
from tests.support.golden_devices import (
    BENCH_CREDENTIALS,
    CONTEXT,
    KX_HDV230,
    GoldenCase,
    golden_cases,
    line,
)
from tests.support.paths import GOLDEN

PANA = panasonic.VENDOR
HEADER = b"# Panasonic SIP Phone Standard Format File # DO NOT CHANGE THIS LINE!\r\n"


def pairs(body: bytes) -> list[tuple[str, str]]:
    """The file's settings in order, read back as the phone would (comments skipped)."""
    assert body.startswith(HEADER)
    found = []
    for raw in body.decode("utf-8").split("\r\n")[1:]:
        if not raw or raw.startswith("#"):
            continue
        name, sep, quoted = raw.partition("=")
        assert sep
        assert quoted.startswith('"')
        assert quoted.endswith('"')
        found.append((name, quoted[1:-1]))
    return found


def check_file(body: bytes, model: ModelInfo) -> None:
    catalogue.check(pairs(body), model)


def _model_of(case: GoldenCase) -> ModelInfo:
    if case.device is not None:
        return case.device.model
    assert case.request.model is not None
    return PANA.models[case.request.model]


PANASONIC_GOLDEN = [case for case in golden_cases() if case.module is PANA]


@pytest.mark.parametrize("case", PANASONIC_GOLDEN, ids=lambda case: case.filename)
def test_every_golden_file_is_in_the_catalogue(case: GoldenCase) -> None:
    body = (GOLDEN / case.filename).read_bytes()  # the golden file as committed, not a re-render
    check_file(body, _model_of(case))
    assert pairs(body)


def test_all_panasonic_golden_files_are_checked() -> None:
    names = {path.name for path in GOLDEN.iterdir() if path.suffix == ".cfg"}
    assert names == {case.filename for case in PANASONIC_GOLDEN}


def full_device(model: ModelInfo, *, bench: bool) -> DeviceView:
    """Every line and every key of ``model`` in use: the largest file each model gets."""
    lines = tuple(line(n) for n in range(1, model.lines + 1))
    credentials = BENCH_CREDENTIALS if bench else None
    layout = PANA.key_layout(model)
    modules = layout.max_modules
    keys = tuple(
        KeyView(n, KeyType.BLF, "2001", "受付") for n in range(1, layout.positions(modules) + 1)
    )
    return replace(KX_HDV230, model=model, lines=lines, credentials=credentials, keys=keys,
                   expansion_modules=modules)  # fmt: skip


def render(device: DeviceView | None, filename: str) -> bytes:
    request = PANA.match_file(filename)
    assert request is not None
    plan = PANA.plan(request, device, CONTEXT)
    assert plan is not None
    return render_plan(plan)


@pytest.mark.parametrize("model", PANA.models.values(), ids=lambda m: m.model)
@pytest.mark.parametrize("bench", [True, False], ids=["bench", "field"])
def test_every_model_renders_only_catalogued_parameters(model: ModelInfo, bench: bool) -> None:
    device = full_device(model, bench=bench)
    body = render(device, PANA.device_filename(device.mac, model))
    check_file(body, model)
    indexes = {name.rsplit("_", 1)[1] for name, _ in pairs(body) if name.startswith("SIP_PASS_")}
    assert indexes == {str(n) for n in range(1, model.lines + 1)}


@pytest.mark.parametrize("model", PANA.models.values(), ids=lambda m: m.model)
def test_every_bootstrap_renders_only_catalogued_parameters(model: ModelInfo) -> None:
    check_file(render(None, f"{model.model}.cfg"), model)


def test_every_entry_names_a_known_source() -> None:
    for entry in catalogue.PARAMETERS.values():
        assert entry.source, entry.name
        assert set(entry.source) <= set(catalogue.SOURCES), entry.name
        assert entry.sureness in {"guide", "sample", "inferred"}, entry.name
        assert entry.families <= catalogue.FAMILIES, entry.name
    assert {m.family for m in PANA.models.values()} == catalogue.FAMILIES


# The three failures the check exists for, each shown on a real golden file.
UT133 = PANA.models["KX-UT133"]
GOLDEN_UT133 = (GOLDEN / "Config0080F0013301.cfg").read_bytes()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (b'HTTP_AUTH_ID="d0080f0013301"\r\n', "HTTP_AUTH_ID: not a documented"),
        (b'LINE_ID_1="1001"\r\n', "LINE_ID_1: not a documented"),
        (b'SIP_PASS_5="x"\r\n', "SIP_PASS_5: KX-UT133 has 4 lines"),
        (b'REG_EXPIRE_TIME_2="0"\r\n', r"REG_EXPIRE_TIME_2: the value is outside 1\.\.4294967295"),
        (b'SIP_SRC_PORT_1="65536"\r\n', "SIP_SRC_PORT_1: the value is outside 1..65535"),
        (b'CFG_CYCLIC_INTVL="40321"\r\n', "CFG_CYCLIC_INTVL: the value is outside"),
        (b'CFG_RESYNC_TIME="24:00"\r\n', "CFG_RESYNC_TIME: the value does not match"),
        (b'DST_ENABLE="Yes"\r\n', "DST_ENABLE: the value does not match"),
        (b'ADMIN_PASS="short"\r\n', "ADMIN_PASS: the value does not match"),
        (b'TIME_ZONE="nine"\r\n', "TIME_ZONE: the value is not a whole number"),
    ],
)
def test_the_check_catches_each_kind_of_fault(extra: bytes, message: str) -> None:
    check_file(GOLDEN_UT133, UT133)  # the untouched file passes
    with pytest.raises(RenderError, match=message):
        check_file(GOLDEN_UT133.replace(HEADER, HEADER + extra), UT133)


def test_a_bad_value_in_the_file_is_named_without_showing_it() -> None:
    with pytest.raises(RenderError) as caught:
        catalogue.check([("SIP_PASS_1", "pass word")], UT133)
    assert "pass word" not in str(caught.value)


def test_the_renderer_refuses_what_the_catalogue_refuses() -> None:
    """The plan runs the same check: a setting out of range never reaches a phone."""
    request = PANA.match_file(PANA.device_filename(KX_HDV230.mac, KX_HDV230.model))
    assert request is not None
    with pytest.raises(RenderError, match="REG_EXPIRE_TIME_1: the value is outside"):
        PANA.plan(request, KX_HDV230, replace(CONTEXT, registration_expiry=0))
