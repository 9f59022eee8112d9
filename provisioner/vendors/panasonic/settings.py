"""Where the settings of :mod:`provisioner.vendors.settings` live on Panasonic phones.

Only what a source names is mapped (:mod:`.catalogue`): the time zone (``TIME_ZONE``, minutes
east of UTC, with ``DST_ENABLE``), the NTP server, and call waiting (``CW_ENABLE_n``, per line,
``Y``/``N``: Panasonic's own samples for KX-UT1xx, KX-UT670 and KX-UTG carry it on every line).
The others are refused by name for every Panasonic model (docs/vendors.md §4b says what each
search found):

* the display language: every sample writes ``DEFAULT_LANGUAGE="en-US"``; no source gives the
  Japanese value;
* date and time format: the samples' ``DISPLAY_DATE_PATTERN``/``DISPLAY_TIME_PATTERN`` carry
  numbers (``0``) whose meaning no source gives;
* intercom auto answer: ``SIGNALING_AUTO_ANS_ENABLE`` is only in the KX-UTG samples, another
  generation; the KX-UT1xx samples do not have it;
* web UI access: ``HTTPD_PORTOPEN_AUTO`` (samples: ``N``) opens the web port for good instead of
  on demand from the phone's menu; it has no HTTP/HTTPS choice, so it does not fit the setting.
"""

from __future__ import annotations

from provisioner.vendors.base import DeviceView, ModelInfo, ProvisioningContext
from provisioner.vendors.common import Params
from provisioner.vendors.settings import SETTINGS, effective

_UTC_MINUTES = {"Asia/Tokyo": "540", "Asia/Seoul": "540", "UTC": "0"}
MAPPED = frozenset({"time_zone", "ntp_server", "call_waiting"})
_PER_LINE = ("call_waiting",)  # written once per line of the model: device files only


def _params(name: str, value: str) -> Params:
    if name == "time_zone":
        return [("TIME_ZONE", _UTC_MINUTES[value]), ("DST_ENABLE", "N")]
    if name == "call_waiting":
        return [("CW_ENABLE", "Y" if value == "on" else "N")]
    return [("NTP_ADDR", value)]


def setting_problem(model: ModelInfo, name: str, value: str) -> str | None:
    """Why ``model`` cannot take ``name`` = ``value``, or None."""
    del value
    if name not in MAPPED:
        return f"no source names the {name} parameter of the {model.model}"
    return None


def setting_params(device: DeviceView | None, ctx: ProvisioningContext) -> Params:
    """NTP server, time zone and, in a device's own file, call waiting on each of its lines (a
    bootstrap file, without a device, gets the defaults)."""
    settings = device.settings if device else {}
    params: Params = []
    for name in ("ntp_server", "time_zone"):
        value = effective(settings, name, ctx)
        if value is not None:
            params += _params(name, value)
    for name in _PER_LINE:
        value = effective(settings, name, ctx)
        if value is not None and device is not None:
            params += [
                (f"{base}_{n}", written)
                for n in range(1, device.model.lines + 1)
                for base, written in _params(name, value)
            ]
    return params


# The catalogue names a setting writes (per-line ones without their _n): not for raw overrides.
SETTING_PARAMETERS = frozenset(
    param for name in MAPPED for value in SETTINGS[name].choices or ("h",)
    for param, _ in _params(name, value)
)  # fmt: skip
