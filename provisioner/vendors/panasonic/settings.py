"""Where the settings of :mod:`provisioner.vendors.settings` live on Panasonic phones.

Only what a source names is mapped (:mod:`.catalogue`): the time zone (``TIME_ZONE``, minutes
east of UTC, with ``DST_ENABLE``) and the NTP server. The others are refused by name for every
Panasonic model: the display language has no Japanese value in any source found (the samples
write ``en-US``; docs/vendors.md §2.3), the samples' ``DISPLAY_DATE_PATTERN`` and
``DISPLAY_TIME_PATTERN`` carry numbers whose meaning no source gives, and call waiting, intercom
auto answer and web UI access have no documented name for these models.
"""

from __future__ import annotations

from provisioner.vendors.base import DeviceView, ModelInfo, ProvisioningContext
from provisioner.vendors.common import Params
from provisioner.vendors.settings import SETTINGS, effective

_UTC_MINUTES = {"Asia/Tokyo": "540", "Asia/Seoul": "540", "UTC": "0"}
MAPPED = frozenset({"time_zone", "ntp_server"})


def _params(name: str, value: str) -> Params:
    if name == "time_zone":
        return [("TIME_ZONE", _UTC_MINUTES[value]), ("DST_ENABLE", "N")]
    return [("NTP_ADDR", value)]


def setting_problem(model: ModelInfo, name: str, value: str) -> str | None:
    """Why ``model`` cannot take ``name`` = ``value``, or None."""
    del value
    if name not in MAPPED:
        return f"no source names the {name} parameter of the {model.model}"
    return None


def setting_params(device: DeviceView | None, ctx: ProvisioningContext) -> Params:
    """NTP server and time zone (a bootstrap file, without a device, gets the defaults)."""
    settings = device.settings if device else {}
    params: Params = []
    for name in ("ntp_server", "time_zone"):
        value = effective(settings, name, ctx)
        if value is not None:
            params += _params(name, value)
    return params


SETTING_PARAMETERS = frozenset(
    param for name in MAPPED for value in SETTINGS[name].choices or ("h",)
    for param, _ in _params(name, value)
)  # fmt: skip
