"""The vendor registry: which vendor module answers a file name, a User-Agent or a model.

The rest of the service asks its questions here, never of a vendor package directly, so a
vendor's rules (file names, what its settings can hold) stay inside that vendor's package.
"""

from __future__ import annotations

from provisioner.vendors import gateway32, grandstream, panasonic
from provisioner.vendors.base import FileRequest, ModelInfo, UserAgentInfo, VendorModule

VENDORS: tuple[VendorModule, ...] = (grandstream.VENDOR, panasonic.VENDOR)
# Models without a phone file (gateways): devices of the inventory, not of the file pipeline.
FILELESS_MODELS: tuple[ModelInfo, ...] = tuple(gateway32.MODELS.values())
_BY_NAME = {vendor.name: vendor for vendor in VENDORS}
# What some vendor's file cannot carry beyond control characters (Panasonic's double quote),
# as it may stand in a regular expression's character class.
UNWRITABLE_CHARACTERS = "".join(module.unwritable_characters for module in VENDORS)


def vendor(name: str) -> VendorModule:
    return _BY_NAME[name]


def find_model(name: str) -> ModelInfo | None:
    """A model by its name, case-insensitively (``gxp2170``, ``KX-HDV230``)."""
    wanted = name.strip().upper()
    return next((info for info in device_models() if info.model.upper() == wanted), None)


def all_models() -> list[ModelInfo]:
    """Every model that fetches a vendor file (phones and ATAs)."""
    return [info for module in VENDORS for info in module.models.values()]


def device_models() -> list[ModelInfo]:
    """Every model the inventory takes: those of :func:`all_models` and the gateways."""
    return [*all_models(), *FILELESS_MODELS]


def match_file(filename: str) -> FileRequest | None:
    """The first vendor module that recognises the file name."""
    return next(filter(None, (module.match_file(filename) for module in VENDORS)), None)


def parse_user_agent(user_agent: str) -> UserAgentInfo | None:
    return next(filter(None, (module.parse_user_agent(user_agent) for module in VENDORS)), None)


def refuse_unwritable_text(name: str, value: str) -> None:
    """Refuse a value (a display name, say) that some vendor's file could not carry.

    Checked against every vendor, not the device's: an account may move to another device,
    and one name may sit on several. Raises :class:`~provisioner.vendors.base.RenderError`.
    """
    for module in VENDORS:
        module.check_text(name, value)
