"""The Panasonic SIP phones we provision: KX-HDV, KX-TGP600 and KX-UT.

Line counts (SIP accounts) are the product owner's table; the guides seen did not list them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from provisioner.vendors.base import DeviceKind, ModelInfo
from provisioner.vendors.facts import PANASONIC

NAME = PANASONIC
FILE_FORMAT = "pana-text"


def _model(name: str, family: str, lines: int) -> ModelInfo:
    return ModelInfo(NAME, name, family, DeviceKind.PHONE, lines, FILE_FORMAT)


MODELS: Mapping[str, ModelInfo] = MappingProxyType(
    {
        info.model: info
        for info in (
            _model("KX-HDV130", "kx-hdv", 2),
            _model("KX-HDV230", "kx-hdv", 6),
            _model("KX-HDV330", "kx-hdv", 12),
            _model("KX-HDV430", "kx-hdv", 16),
            _model("KX-TGP600", "kx-tgp600", 8),
            _model("KX-UT113", "kx-ut", 2),
            _model("KX-UT123", "kx-ut", 2),
            _model("KX-UT133", "kx-ut", 4),
            _model("KX-UT136", "kx-ut", 6),
        )
    }
)
