"""The Panasonic SIP phones we provision: KX-HDV, KX-TGP600 and KX-UT.

Line counts (SIP accounts; the ``_n`` suffixes a file may use, see :mod:`.catalogue`):

* KX-UT133 and KX-UT136: 4. Panasonic's samples for both (as shipped by FusionPBX:
  ``panasonic/ut133/{$mac}.xml``, ``panasonic/ut136/{$mac}.xml``) carry lines 1-4 only; the
  KX-UT136 had 6 here before, which would have written lines 5 and 6 that it does not have.
* KX-UT113 and KX-UT123: 2; KX-HDV130: 2, KX-HDV230: 6, KX-HDV330: 12, KX-HDV430: 16;
  KX-TGP600: 8. The product owner's table, not confirmed by a guide page: the KX-HDV230
  guide's format chapter says only "the unit supports multiple telephone lines" (§2.4), and
  the guides' per-model specifications were not found online (``docs/vendors.md`` §6).

Japanese display: **no model in this table has one we can set**. No source found gives the
Japanese value of ``DEFAULT_LANGUAGE`` for any of them (Panasonic's samples write ``en-US``;
docs/vendors.md §2.3), so ``japanese_display`` is off for all, ``DEFAULT_LANGUAGE`` is not
written, and the settings catalogue's ``display_language`` is shown as not written for them.
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
            _model("KX-UT136", "kx-ut", 4),
        )
    }
)
