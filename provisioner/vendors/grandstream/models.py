"""The Grandstream models we provision: phones (GXP16xx, GXP21xx, GRP26xx) and ATAs (HT80x, HT81x).

The family picks the parameter layout (:mod:`.plan`), the file format picks the template: GXP21xx
(GXP2130-2170) and GRP26xx take the v2 aliases, GXP16xx and the ATAs the P-values. Each follows
the form of the vendor template for its current firmware (docs/vendors.md §1.3): Grandstream's
GXP21xx 1.0.11.79 template is written in aliases (and has ``tr069.enable`` and the VPK and
expansion-module keys), its GXP16xx 1.0.4.33 and HT templates in P-values; wazo-provd does the
same (``base_v2`` for GXP2130-2170, ``base`` for GXP16xx).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from provisioner.vendors.base import DeviceKind, ModelInfo
from provisioner.vendors.facts import GRANDSTREAM

NAME = GRANDSTREAM
P_FORMAT = "gs-xml-p"
ALIAS_FORMAT = "gs-xml-alias"


def _model(name: str, family: str, kind: DeviceKind, lines: int, file_format: str) -> ModelInfo:
    # Phones list Japanese in their display language menu (P1362 "ja"); HT IVR has none.
    japanese = kind is DeviceKind.PHONE
    return ModelInfo(NAME, name, family, kind, lines, file_format, japanese_display=japanese)


_PHONE, _ATA = DeviceKind.PHONE, DeviceKind.ATA
MODELS: Mapping[str, ModelInfo] = MappingProxyType(
    {
        info.model: info
        for info in (
            _model("GXP1610", "gxp16xx", _PHONE, 1, P_FORMAT),
            _model("GXP1620", "gxp16xx", _PHONE, 2, P_FORMAT),
            _model("GXP1625", "gxp16xx", _PHONE, 2, P_FORMAT),
            _model("GXP1628", "gxp16xx", _PHONE, 2, P_FORMAT),
            _model("GXP1630", "gxp16xx", _PHONE, 3, P_FORMAT),
            _model("GXP2130", "gxp21xx", _PHONE, 3, ALIAS_FORMAT),
            _model("GXP2135", "gxp21xx", _PHONE, 4, ALIAS_FORMAT),
            _model("GXP2140", "gxp21xx", _PHONE, 4, ALIAS_FORMAT),
            _model("GXP2160", "gxp21xx", _PHONE, 6, ALIAS_FORMAT),
            _model("GXP2170", "gxp21xx", _PHONE, 6, ALIAS_FORMAT),
            _model("GRP2612", "grp26xx", _PHONE, 2, ALIAS_FORMAT),
            _model("GRP2613", "grp26xx", _PHONE, 3, ALIAS_FORMAT),
            _model("GRP2614", "grp26xx", _PHONE, 4, ALIAS_FORMAT),
            _model("GRP2615", "grp26xx", _PHONE, 5, ALIAS_FORMAT),
            _model("GRP2616", "grp26xx", _PHONE, 6, ALIAS_FORMAT),
            _model("HT801", "ht80x", _ATA, 1, P_FORMAT),
            _model("HT802", "ht80x", _ATA, 2, P_FORMAT),
            _model("HT812", "ht81x", _ATA, 2, P_FORMAT),
            _model("HT814", "ht81x", _ATA, 4, P_FORMAT),
            _model("HT818", "ht81x", _ATA, 8, P_FORMAT),
        )
    }
)
