"""The user-facing settings a customer may want different, vendor-neutral: name, type, values.

Each vendor package maps them onto its own parameters (``grandstream/settings.py``,
``panasonic/settings.py``) and says which models take which values; values are set at the
service default, tenant, model and device level and the most specific one wins
(``provisioner/domain/settings/``). A setting whose default is ``None`` is left at the
device's own value until somebody sets it.

Display language, date and time format, time zone and NTP server are written by default, as
they were before this catalogue existed (Japanese where the model has it, Japan time, the
service's NTP server).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from provisioner.vendors.base import ProvisioningContext

_HOST = re.compile(r"[A-Za-z0-9.:\[\]-]{1,253}")


class SettingKind(enum.StrEnum):
    CHOICE = "choice"
    BOOLEAN = "boolean"
    HOST = "host"


@dataclass(frozen=True)
class Setting:
    """One setting: which values it takes, and its service default."""

    name: str
    kind: SettingKind
    description: str
    choices: tuple[str, ...] = ()
    default: str | None = None  # None: the device keeps its own value
    # A customer's administrator may set it (for its tenant, or one phone); what the service
    # or its network depends on (time source, the phone's own web UI) is staff's.
    customer: bool = True

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not a value of this setting, or None."""
        if self.kind is SettingKind.HOST:
            return None if _HOST.fullmatch(value) else "is not a host name or address"
        if value not in self.choices:
            return f"is not one of {', '.join(self.choices)}"
        return None


def _setting(
    name: str, kind: SettingKind, description: str, choices: tuple[str, ...] = (),
    default: str | None = None, *, customer: bool = True,
) -> Setting:  # fmt: skip
    if kind is SettingKind.BOOLEAN:
        choices = ("on", "off")
    return Setting(name, kind, description, choices, default, customer)


DISPLAY_LANGUAGE = "display_language"
NTP_SERVER = "ntp_server"

SETTINGS: Mapping[str, Setting] = MappingProxyType(
    {
        s.name: s
        for s in (
            _setting(
                DISPLAY_LANGUAGE, SettingKind.CHOICE,
                "language of the phone's display (models without Japanese keep their own)",
                ("ja", "en"), "ja",
            ),
            _setting(
                "date_format", SettingKind.CHOICE, "how the display writes the date",
                ("yyyy-mm-dd", "mm-dd-yyyy", "dd-mm-yyyy"), "yyyy-mm-dd",
            ),
            _setting("time_format", SettingKind.CHOICE, "12 or 24 hour clock", ("24h", "12h"),
                     "24h"),
            _setting("time_zone", SettingKind.CHOICE, "time zone of the display",
                     ("Asia/Tokyo", "Asia/Seoul", "UTC"), "Asia/Tokyo"),
            _setting(NTP_SERVER, SettingKind.HOST,
                     "time server (default: the service's PROVISIONER_NTP_SERVER)",
                     customer=False),
            _setting("call_waiting", SettingKind.BOOLEAN, "a second call rings during a call"),
            _setting("intercom_auto_answer", SettingKind.BOOLEAN,
                     "answer an intercom call (Call-Info/Alert-Info auto answer) by itself"),
            _setting("web_ui", SettingKind.CHOICE, "the phone's own web UI",
                     ("https", "http", "both", "off"), customer=False),
        )
    }
)  # fmt: skip
CUSTOMER_SETTINGS = frozenset(name for name, setting in SETTINGS.items() if setting.customer)


def effective(settings: Mapping[str, str], name: str, ctx: ProvisioningContext) -> str | None:
    """The value a file carries for ``name``: the one resolved for the device, else the
    service default (the NTP server from the service's settings), else None (not written)."""
    if name in settings:
        return settings[name]
    if name == NTP_SERVER:
        return ctx.ntp_server
    return SETTINGS[name].default
