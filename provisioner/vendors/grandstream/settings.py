"""Where each setting of :mod:`provisioner.vendors.settings` lives on Grandstream, and its values.

P-values for GXP16xx and the HT ATAs, v2 aliases for GXP21xx and GRP26xx; value spellings as
the templates list them (the date format alias takes the pattern itself, the time format
``12Hour``/``24Hour``, call waiting is "Disable Call Waiting" P91 but ``call.callWaiting.enable``
as an alias). A model takes a setting only if every parameter it maps to is in its family's
template (:mod:`.catalogue`) and, for what the display shows, if it has a display.

Time zones: the template lists "GMT+09:00 (Japan, Korea, Yakutsk) TZZ-9" and "GMT (Edinburgh,
Casablanca, Monrovia) TZN+0" (no daylight saving).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache

from provisioner.vendors.base import DeviceKind, DeviceView, ModelInfo, ProvisioningContext
from provisioner.vendors.common import Params
from provisioner.vendors.grandstream import catalogue
from provisioner.vendors.grandstream.models import ALIAS_FORMAT
from provisioner.vendors.settings import DISPLAY_LANGUAGE, SETTINGS, effective

_TIME_ZONES = {"Asia/Tokyo": "TZZ-9", "Asia/Seoul": "TZZ-9", "UTC": "TZN+0"}
_DATE_P = {"yyyy-mm-dd": "0", "mm-dd-yyyy": "1", "dd-mm-yyyy": "2"}
_WEB_P = {"https": "0", "http": "1"}  # P1650 "Web Access Mode": no "both", no "off"
_WEB_ALIAS = {"https": "HTTPS", "http": "HTTP", "both": "Both", "off": "Disabled"}
_ON_OFF = {"on": "1", "off": "0"}
_YES_NO = {"on": "Yes", "off": "No"}
_INTERCOM_P = ("P298", "P438", "P538")  # "Allow Auto Answer by Call-Info", accounts 1-3

# Settings the display shows: only phones have one.
_DISPLAY = frozenset({DISPLAY_LANGUAGE, "date_format", "time_format"})

Mapper = Callable[[ModelInfo, str], Params | None]  # None: the value has no spelling here


def _same(name: str) -> Mapper:
    return lambda _model, value: [(name, value)]


def _table(name: str, table: Mapping[str, str]) -> Mapper:
    return lambda _model, value: [(name, table[value])] if value in table else None


def _per_account(names: Callable[[int], str], table: Mapping[str, str]) -> Mapper:
    return lambda model, value: [(names(n), table[value]) for n in range(1, model.lines + 1)]


_P_FORM: Mapping[str, Mapper] = {
    DISPLAY_LANGUAGE: _same("P1362"),
    "date_format": _table("P102", _DATE_P),
    "time_format": _table("P122", {"12h": "0", "24h": "1"}),
    "time_zone": _table("P64", _TIME_ZONES),
    "ntp_server": _same("P30"),
    "call_waiting": _table("P91", {"on": "0", "off": "1"}),  # "Disable Call Waiting"
    "intercom_auto_answer": _per_account(lambda n: _INTERCOM_P[n - 1], _ON_OFF),
    "web_ui": _table("P1650", _WEB_P),
}
_ALIAS_FORM: Mapping[str, Mapper] = {
    DISPLAY_LANGUAGE: _same("language.gui"),
    "date_format": _same("dateTime.format.date"),
    "time_format": _table("dateTime.format.time", {"12h": "12Hour", "24h": "24Hour"}),
    "time_zone": _table("dateTime.timezone", _TIME_ZONES),
    "ntp_server": _same("dateTime.ntp.server.1"),
    "call_waiting": _table("call.callWaiting.enable", _YES_NO),
    "intercom_auto_answer": _per_account(
        lambda n: f"account.{n}.intercom.allowAutoAnswer", _YES_NO
    ),
    "web_ui": _table("security.webAccessMode", _WEB_ALIAS),
}


def _params(model: ModelInfo, name: str, value: str) -> Params | str:
    """The parameters for ``name`` = ``value`` on ``model``, or why it cannot take it."""
    if name in _DISPLAY and model.kind is not DeviceKind.PHONE:
        return f"the {model.model} has no display"
    if name == DISPLAY_LANGUAGE and value == "ja" and not model.japanese_display:
        return f"the {model.model} has no Japanese display"
    forms = _ALIAS_FORM if model.file_format == ALIAS_FORMAT else _P_FORM
    params = forms[name](model, value)
    if params is None:
        return f"{value!r} has no {model.family} spelling"
    unknown = [param for param, _ in params if not catalogue.knows(model.family, param)]
    if unknown:
        return f"the {model.family} template has no {', '.join(unknown)}"
    return params


def setting_problem(model: ModelInfo, name: str, value: str) -> str | None:
    """Why ``model`` cannot take ``name`` = ``value``, or None."""
    found = _params(model, name, value)
    return found if isinstance(found, str) else None


def setting_params(device: DeviceView, ctx: ProvisioningContext) -> Params:
    """Every setting with a value for this device, in catalogue order; a value the model
    cannot take (a tenant-wide value on a model without it) is left out."""
    params: Params = []
    for name in SETTINGS:
        value = effective(device.settings, name, ctx)
        if value is None:
            continue
        found = _params(device.model, name, value)
        if not isinstance(found, str):
            params += found
    return params


@cache
def setting_names(model: ModelInfo) -> Mapping[str, str]:
    """{parameter: setting} of every parameter a setting may write on ``model``."""
    forms = _ALIAS_FORM if model.file_format == ALIAS_FORMAT else _P_FORM
    names: dict[str, str] = {}
    for name, setting in SETTINGS.items():
        for value in setting.choices or ("host.example",):
            for param, _ in forms[name](model, value) or ():
                names[param] = name
    return names
