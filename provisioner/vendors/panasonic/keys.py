"""Programmable keys on Panasonic KX-HDV phones: flexible buttons and the KX-HDV20 console.

KX-HDV230 (24 physical flexible buttons, two pages of 12), KX-HDV330 and KX-HDV430 (24 flexible
buttons on the display, three pages of 8): ``FLEX_BUTTON_FACILITY_ACT{n}`` (what the key does:
``X_PANASONIC_IPTEL_LINE``, ``_BLF``, ``_ONETOUCH``), ``FLEX_BUTTON_FACILITY_ARG{n}`` (the line
number, or the extension a BLF watches), ``FLEX_BUTTON_QUICK_DIAL{n}`` (what a one-touch key
dials) and ``FLEX_BUTTON_LABEL{n}``. One KX-HDV20 console adds 40 keys (two pages of 20) as
``DSS_BUTTON_*{n}``. Sources in :mod:`.catalogue` (the Japanese generator's HDV key page, the
names also in Panasonic's KX-UT133 sample); how a second console is numbered was not found, so
one console at most. The KX-HDV130, KX-TGP600 and KX-UT models get no keys: no source gives
their values for these functions (the KX-UT samples use ``X_PANASONIC_IPTEL_DN``/``_CONTACT``,
not verified here). DTMF keys have no documented facility: refused.

When a device has keys, all of its buttons are written (unused ones empty), so a button set
before and dropped since is cleared on the phone.
"""

from __future__ import annotations

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
from provisioner.vendors.panasonic.catalogue import DSS_KEYS, FLEX_KEYS

_TYPES = frozenset(KeyType) - {KeyType.DTMF}
_FLEX = KeyBank("flexible button", FLEX_KEYS, _TYPES)
_CONSOLE = KeyBank("KX-HDV20", DSS_KEYS, _TYPES)
_WITH_KEYS = frozenset({"KX-HDV230", "KX-HDV330", "KX-HDV430"})
_FACILITY = {
    KeyType.LINE: "X_PANASONIC_IPTEL_LINE",
    KeyType.BLF: "X_PANASONIC_IPTEL_BLF",
    KeyType.SPEED_DIAL: "X_PANASONIC_IPTEL_ONETOUCH",
    KeyType.PARK: "X_PANASONIC_IPTEL_ONETOUCH",
    KeyType.PICKUP: "X_PANASONIC_IPTEL_ONETOUCH",
    KeyType.NONE: "",
}


def key_layout(model: ModelInfo) -> KeyLayout:
    if model.model not in _WITH_KEYS:
        return KeyLayout()
    return KeyLayout((_FLEX,), _CONSOLE, 1)


def _button(prefix: str, n: int, key: KeyView) -> Params:
    dials = _FACILITY[key.type] == "X_PANASONIC_IPTEL_ONETOUCH"
    return [
        (f"{prefix}_BUTTON_FACILITY_ACT{n}", _FACILITY[key.type]),
        (f"{prefix}_BUTTON_FACILITY_ARG{n}", "" if dials else key.value),
        (f"{prefix}_BUTTON_QUICK_DIAL{n}", key.value if dials else ""),
        (f"{prefix}_BUTTON_LABEL{n}", key.label),
    ]


def key_params(device: DeviceView) -> Params:
    """Every flexible button (and console key, with a console) when the device has keys."""
    if not device.keys:
        return []
    layout = key_layout(device.model)
    total = layout.positions(device.expansion_modules)
    by_position = {key.position: key for key in device.keys}
    if max(by_position) > total:
        raise RenderError(f"key {max(by_position)}: the {device.model.model} with "
                          f"{device.expansion_modules} KX-HDV20 has {total} keys")  # fmt: skip
    params: Params = []
    for position in range(1, total + 1):
        key = by_position.get(position, KeyView(position, KeyType.NONE))
        if key.type not in _TYPES:
            raise RenderError(f"key {position}: the {device.model.model} has no {key.type} key")
        prefix, n = ("FLEX", position) if position <= FLEX_KEYS else ("DSS", position - FLEX_KEYS)
        params += _button(prefix, n, key)
    return params
