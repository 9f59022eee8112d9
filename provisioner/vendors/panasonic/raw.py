"""Which raw Panasonic parameters an expert may set on a model.

Only names of :mod:`.catalogue` (each with its source) that the service does not own and no
setting maps to. Today every catalogue name is the service's (credentials, provisioning,
firmware, the lines) or a setting's, so every raw Panasonic parameter is refused, each with its
reason: a name outside the catalogue would be ignored by the phone without a word.
"""

from __future__ import annotations

from provisioner.vendors.base import ModelInfo, RenderError
from provisioner.vendors.panasonic import catalogue
from provisioner.vendors.panasonic.settings import SETTING_PARAMETERS

# Catalogue names that are how the phone finds us (its file, its phonebook), proves who it is,
# upgrades or registers.
_OWNED = (
    frozenset(
        {"ADMIN_ID", "ADMIN_PASS", "PROVISION_ENABLE", "XMLAPP_ENABLE", "XMLAPP_LDAP_URL"}
        | {name for name in catalogue.PARAMETERS if name.startswith(("CFG_", "FIRM_"))}
        | {name for name, entry in catalogue.PARAMETERS.items() if entry.per_line}
    )
    - SETTING_PARAMETERS
)


def raw_parameter_problem(model: ModelInfo, name: str) -> str | None:
    """Why an expert may not set ``name`` on ``model``, or None."""
    try:
        entry = catalogue.lookup(name, model)
    except RenderError as error:
        return str(error)
    if entry.name in SETTING_PARAMETERS:
        setting = "call_waiting" if entry.per_line else "time_zone or ntp_server"
        return f"{name} is written by a setting ({setting}): set that instead"
    if entry.name in _OWNED:
        return (
            f"{name} is owned by the service (accounts, credentials, provisioning server, "
            "encryption key): it cannot be overridden"
        )
    return None
