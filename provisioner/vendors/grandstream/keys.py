"""Programmable keys on Grandstream phones: how many per model, and where each one is written.

GXP21xx and GRP26xx (aliases, their templates' "Virtual Multi-Purpose Keys" and "Programmable
Keys" sections): VPK ``i`` is ``pks.vpk.{i}.keyMode``/``.account``/``.description``/
``.value`` (P1363/P1364/P1465/P1466 for VPK 1), physical MPK ``i`` is ``pks.mpk.{i}.*`` (P323,
P301-P303), expansion module key ``i`` is ``pks.ext.{i}.*`` (P23000-P23003), numbered on
across modules as FusionPBX's loop over a phone's module keys does. Key modes are the words
the templates list ("None (-1), SpeedDial (0), BLF (1), ..., DialDTMF (5), ..., CallPark (9),
..., Line (31)"); the VPK account is the account's index from 0 ("0 - Account1"), the MPK and
module account is ``AccountN``. The template's note applies: a dynamic VPK left out removes
every VPK after it, so a layout is written whole, unused keys as ``None``.

GXP16xx (P-values, template 1.0.4.33): line key ``k`` (1-3) at P(1363+2(k-1)) mode (0 Line,
10 Speed Dial, 15 Dial DTMF), P(1364+2(k-1)) account, P(1465+2(k-1)) description,
P(1466+2(k-1)) value; MPK ``k`` (GXP1628/1630 only) at P(323+k-1) mode (0 Speed Dial, 1 BLF,
5 DialDTMF, 9 Call Park), P(301+3(k-1)) account, P(302+3(k-1)) description, P(303+3(k-1))
value, MPK 8 at P353-P356. There is no "None" mode on GXP16xx MPKs: an unused MPK is a speed
dial with nothing to dial. Its line keys have no BLF or park.

Key counts per model (VPK, MPK) are wazo-provd's ``MODEL_FKEYS`` (secondary); the VPK counts of
GXP2130-2170 agree with the GXP21xx template's notes (12, 32, 16, 24, 48). Expansion modules:
GXP2200EXT (20 keys x 2 pages) on GXP2140/2160/2170, GBX20 (20 x 2) on GRP2614/2615/2616, up to
four each (inferred from the products' data sheets; to check on hardware).
"""

from __future__ import annotations

from collections.abc import Mapping

from provisioner.vendors.base import (
    DeviceView,
    KeyBank,
    KeyLayout,
    KeyType,
    KeyView,
    ModelInfo,
    RenderError,
)
from provisioner.vendors.common import Params
from provisioner.vendors.grandstream.models import ALIAS_FORMAT

ALL = frozenset(KeyType)
NOT_LINE = ALL - {KeyType.LINE}
_GXP16XX_LINE = frozenset({KeyType.LINE, KeyType.SPEED_DIAL, KeyType.PICKUP, KeyType.DTMF})

# model -> (VPK, MPK)
_ALIAS_KEYS: Mapping[str, tuple[int, int]] = {
    "GXP2130": (12, 8), "GXP2135": (32, 0), "GXP2140": (16, 0), "GXP2160": (24, 24),
    "GXP2170": (48, 0), "GRP2612": (16, 0), "GRP2613": (24, 0), "GRP2614": (16, 24),
    "GRP2615": (40, 0), "GRP2616": (16, 24),
}  # fmt: skip
_MODULES: Mapping[str, str] = {
    **dict.fromkeys(("GXP2140", "GXP2160", "GXP2170"), "GXP2200EXT"),
    **dict.fromkeys(("GRP2614", "GRP2615", "GRP2616"), "GBX20"),
}
_MODULE_KEYS, _MAX_MODULES = 40, 4
# model -> (line keys, MPK)
_P_KEYS: Mapping[str, tuple[int, int]] = {
    "GXP1610": (2, 0), "GXP1620": (2, 0), "GXP1625": (2, 0), "GXP1628": (2, 8), "GXP1630": (3, 8),
}  # fmt: skip

_WORDS = {
    KeyType.LINE: "Line",
    KeyType.BLF: "BLF",
    KeyType.SPEED_DIAL: "SpeedDial",
    KeyType.PARK: "CallPark",
    KeyType.PICKUP: "SpeedDial",  # dials the pickup code
    KeyType.DTMF: "DialDTMF",
    KeyType.NONE: "None",
}
_P_LINE_MODES = {KeyType.LINE: "0", KeyType.SPEED_DIAL: "10", KeyType.PICKUP: "10",
                 KeyType.DTMF: "15"}  # fmt: skip
_P_MPK_MODES = {KeyType.SPEED_DIAL: "0", KeyType.BLF: "1", KeyType.DTMF: "5", KeyType.PARK: "9",
                KeyType.PICKUP: "0", KeyType.NONE: "0"}  # fmt: skip


def key_layout(model: ModelInfo) -> KeyLayout:
    """The model's keys in position order (an ATA has none)."""
    if model.model in _ALIAS_KEYS:
        vpk, mpk = _ALIAS_KEYS[model.model]
        banks = [KeyBank("VPK", vpk, ALL)]
        if mpk:
            banks.append(KeyBank("MPK", mpk, NOT_LINE))
        module = _MODULES.get(model.model)
        if module is None:
            return KeyLayout(tuple(banks))
        return KeyLayout(tuple(banks), KeyBank(module, _MODULE_KEYS, NOT_LINE), _MAX_MODULES)
    if model.model in _P_KEYS:
        lines, mpk = _P_KEYS[model.model]
        banks = [KeyBank("line key", lines, _GXP16XX_LINE)]
        if mpk:
            banks.append(KeyBank("MPK", mpk, NOT_LINE))
        return KeyLayout(tuple(banks))
    return KeyLayout()


def _line_value(key: KeyView) -> tuple[int, str]:
    """(account index from 0, value): a line key's account is its line; others use account 1."""
    if key.type is KeyType.LINE:
        return int(key.value) - 1, ""
    return 0, key.value


def _alias_key(bank: KeyBank, index: int, key: KeyView) -> Params:
    kind = {"VPK": "vpk", "MPK": "mpk"}.get(bank.name, "ext")
    account, value = _line_value(key)
    prefix = f"pks.{kind}.{index}."
    return [
        (prefix + "keyMode", _WORDS[key.type]),
        (prefix + "account", str(account) if kind == "vpk" else f"Account{account + 1}"),
        (prefix + "description", key.label),
        (prefix + "value", value),
    ]


def _p_key(bank: KeyBank, index: int, key: KeyView) -> Params:
    account, value = _line_value(key)
    if bank.name == "line key":
        base = 1363 + 2 * (index - 1)
        names = (base, base + 1, base + 102, base + 103)
        mode = _P_LINE_MODES[key.type]
    else:
        step = 3 * (index - 1)
        names = (323 + index - 1, 301 + step, 302 + step, 303 + step)
        if index == 8:
            names = (353, 354, 355, 356)
        mode = _P_MPK_MODES[key.type]
    return list(zip((f"P{n}" for n in names), (mode, str(account), key.label, value), strict=True))


def key_params(device: DeviceView) -> Params:
    """Every key of the device's layout up to its last set position, in position order; the
    positions between set keys are written as unused keys where the kind has "None" (see the
    module docstring), else left alone."""
    if not device.keys:
        return []
    layout = key_layout(device.model)
    by_position = {key.position: key for key in device.keys}
    last = max(by_position)
    if last > layout.positions(device.expansion_modules):
        raise RenderError(
            f"key {last}: the {device.model.model} with {device.expansion_modules} expansion "
            f"module(s) has {layout.positions(device.expansion_modules)} keys"
        )
    alias = device.model.file_format == ALIAS_FORMAT
    params: Params = []
    for position in range(1, last + 1):
        found = layout.bank_at(position)
        assert found is not None  # within positions(), checked above
        bank, index = found
        key = by_position.get(position, KeyView(position, KeyType.NONE))
        if position not in by_position and KeyType.NONE not in bank.types:
            continue  # a GXP16xx line key left as the phone has it
        if key.type not in bank.types:
            raise RenderError(f"key {position}: a {bank.name} of the {device.model.model} "
                              f"cannot be {key.type}")  # fmt: skip
        params += (_alias_key if alias else _p_key)(bank, index, key)
    return params
