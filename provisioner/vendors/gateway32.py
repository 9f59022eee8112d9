"""The 32Gateway: a device of kind ``gateway`` that fetches JSON, not a phone file.

It has no line keys and no vendor file names: its configuration (licence, number map, trunk)
is served at ``/gateway/<mac>/config.json`` by :mod:`provisioner.web.gateway`. It sits in a
model table of its own so that the phone file pipeline (file names, templates, NOTIFY resync,
the demo's one device per model) never meets it.
"""

from __future__ import annotations

from types import MappingProxyType

from provisioner.vendors.base import DeviceKind, ModelInfo

NAME = "gateway32"
MODEL = "32Gateway"
FILE_FORMAT = "gateway-json"

MODELS = MappingProxyType(
    {MODEL: ModelInfo(NAME, MODEL, "gateway32", DeviceKind.GATEWAY, 0, FILE_FORMAT)}
)


def config_path(mac: str) -> str:
    """Where the gateway fetches its configuration (and, beside it, posts its CDRs)."""
    return f"/gateway/{mac}/config.json"
