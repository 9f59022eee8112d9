"""What a Panasonic phone asks for and says about itself: file names and User-Agents."""

from __future__ import annotations

import re

from provisioner.vendors.base import FileKind, FileRequest, ModelInfo, UserAgentInfo
from provisioner.vendors.common import MAC_HEX, canonical_mac, longest_model_prefix
from provisioner.vendors.panasonic.models import MODELS, NAME

_DEVICE_FILE = re.compile(rf"Config(?P<mac>{MAC_HEX})\.cfg", re.IGNORECASE)
_GENERIC_FILE = re.compile(r"ConfigCommon\.cfg", re.IGNORECASE)
_MODEL_FILE = re.compile(r"(?P<model>KX-[A-Z0-9]+)\.cfg", re.IGNORECASE)

_UA = re.compile(
    rf"Panasonic[_-](?P<model>[^/\s]+)/(?P<firmware>[^\s(]+)(?:\s+\((?P<mac>{MAC_HEX})\))?"
)
USER_AGENT_SAMPLES: dict[str, tuple[str | None, str | None, str | None]] = {
    # docs/vendors.md §2.5: HTTP UA from wazo-provd's common.py
    "Panasonic_KX-UT113/01.133 (0080f0c8c381)": ("KX-UT113", "01.133", "0080f0c8c381"),
    # FusionPBX PR #2326 (its MAC elided there; this one is illustrative, upper case)
    "Panasonic_KX-TGP500B09/22.90 (0080F0112233)": ("KX-TGP500B09", "22.90", "0080f0112233"),
    # a SIP User-Agent: hyphen after "Panasonic", regional suffix on the model
    "Panasonic-KX-TGP600RU/01.061 (080023e21a52)": ("KX-TGP600", "01.061", "080023e21a52"),
    # no KX-HDV sample was found: INFERRED from the {MODEL}/{fwver} ({mac}) pattern
    "Panasonic_KX-HDV230NE/01.000 (0080f0aabbcc)": ("KX-HDV230", "01.000", "0080f0aabbcc"),
    "Panasonic_KX-HDV230/01.000": ("KX-HDV230", "01.000", None),
}


def match_file(filename: str) -> FileRequest | None:
    """``Config<MAC>.cfg`` (any case), ``ConfigCommon.cfg``, ``<MODEL>.cfg``.

    A model file may carry a regional suffix (``KX-TGP600RU.cfg``): it is the longest
    known model the name starts with; an unknown model is not ours.
    """
    if found := _DEVICE_FILE.fullmatch(filename):
        return FileRequest(NAME, FileKind.DEVICE, filename, mac=found["mac"].lower())
    if _GENERIC_FILE.fullmatch(filename):
        return FileRequest(NAME, FileKind.GENERIC, filename)
    if found := _MODEL_FILE.fullmatch(filename):
        model = longest_model_prefix(found["model"], MODELS)
        if model is not None:
            return FileRequest(NAME, FileKind.BOOTSTRAP, filename, model=model.model)
    return None


def device_filename(mac: str, model: ModelInfo) -> str:
    del model  # every model's own file is named by its MAC alone
    return f"Config{canonical_mac(mac).upper()}.cfg"


def parse_user_agent(user_agent: str) -> UserAgentInfo | None:
    """Model (a known model without its regional suffix, else as sent), firmware, MAC."""
    found = _UA.match(user_agent.strip())
    if found is None:
        return None
    known = longest_model_prefix(found["model"], MODELS)
    model = known.model if known else found["model"].upper()
    mac = found["mac"].lower() if found["mac"] else None
    return UserAgentInfo(NAME, model, found["firmware"], mac)
