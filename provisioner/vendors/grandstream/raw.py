"""Which raw Grandstream parameters an expert may set on a model, and why not the others.

Refused: a name the family's template does not have (:mod:`.catalogue`: the device would
ignore it without a word); a name the service owns, because it is how the device finds us,
proves who it is or registers (accounts, credentials, provisioning server and schedule,
config key, TR-069 and the other ways a device is taken over or reset), or because the API
sets it another way (keys, the phonebook download); a name a setting of
the catalogue maps to (set the setting instead, so the API shows where the value comes from).
"""

from __future__ import annotations

from functools import cache

from provisioner.vendors.base import ModelInfo
from provisioner.vendors.grandstream import catalogue
from provisioner.vendors.grandstream.parameters import (
    ALIAS_CREDENTIALS,
    ALIAS_KEEPALIVE_INTERVAL,
    HT80X_PORTS,
    HT81X_PROFILES,
    HT_REACH,
    KEEPALIVE_INTERVAL,
    P_CREDENTIALS,
    PHONE_ACCOUNTS,
    PHONE_REACH,
    ht81x_port,
)
from provisioner.vendors.grandstream.settings import setting_names

# Alias prefixes the service owns outright.
_OWNED_PREFIXES = (
    "account.", "provisioning.", "tr069.", "users.admin.", "sip.notify.", "phonebook.download.",
    "pks.vpk.", "pks.mpk.", "pks.ext.",
)  # fmt: skip
_OWNED_P = frozenset(
    {
        "P2",  # admin password
        *("P212", "P237", "P192", "P6767", "P234", "P235", "P240"),  # config/firmware server
        *("P232", "P233", "P238", "P8375"),  # firmware step
        *("P194", "P193", "P285", "P286", "P8459", "P8458", "P22296"),  # periodic check
        *("P145", "P8337", "P1411", "P1414"),  # DHCP/3CX would point it elsewhere
        *("P4428", "P26015"),  # NOTIFY authentication, reset by NOTIFY
        *("P1409", "P4503", "P4504", "P4505"),  # TR-069 / ACS
        *("P330", "P331", "P332"),  # the phonebook download
        *(getattr(P_CREDENTIALS, field) for field in ("http_user", "http_password", "config_key")),
    }
)


@cache
def _owned_p_values() -> frozenset[str]:
    """Every P-value of an account, FXS port or SIP profile, and how it reaches the cores
    behind NAT (keep-alive, failover, DNS mode, local port), whatever the model."""
    names = {key for keys in PHONE_ACCOUNTS for key in vars(keys).values() if key}
    names |= {key for reach in (*PHONE_REACH, *HT_REACH) for key in vars(reach).values() if key}
    names |= {KEEPALIVE_INTERVAL, ALIAS_KEEPALIVE_INTERVAL}
    for account, analog in HT80X_PORTS:
        names |= {key for key in vars(account).values() if key}
        names |= set(vars(analog).values())
    for profile in HT81X_PROFILES:
        names |= {v for v in vars(profile).values() if isinstance(v, str)}
        names |= set(vars(profile.analog).values())
    for n in range(1, 9):
        names |= set(vars(ht81x_port(n)).values())
    return frozenset(names | _OWNED_P | set(vars(ALIAS_CREDENTIALS).values()))


def raw_parameter_problem(model: ModelInfo, name: str) -> str | None:
    """Why an expert may not set ``name`` on ``model``, or None."""
    if name.startswith(_OWNED_PREFIXES) or name in _owned_p_values():
        return (
            f"{name} is owned by the service (accounts, credentials, provisioning server, "
            "encryption key): it cannot be overridden"
        )
    setting = setting_names(model).get(name)
    if setting is not None:
        return f"{name} is the setting {setting!r}: set that instead"
    if not catalogue.knows(model.family, name):
        sources = "; ".join(catalogue.sources(model.family))
        return f"{name} is not a parameter of the {model.family} template ({sources})"
    return None
