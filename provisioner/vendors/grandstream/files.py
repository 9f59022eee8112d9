"""What a Grandstream device asks for and says about itself: file names and User-Agents."""

from __future__ import annotations

import re

from provisioner.vendors.base import FileKind, FileRequest, ModelInfo, UserAgentInfo
from provisioner.vendors.common import MAC_HEX, canonical_mac, longest_model_prefix
from provisioner.vendors.grandstream.models import MODELS, NAME

_MAC_FILE = re.compile(rf"cfg(?P<mac>{MAC_HEX})(?P<ext>\.xml|\.bin)?", re.IGNORECASE)
_GENERIC_FILE = re.compile(r"cfg\.xml", re.IGNORECASE)
_MODEL_FILE = re.compile(r"cfg(?P<model>[a-z0-9]+)\.xml", re.IGNORECASE)

_UA = re.compile(
    r"Grandstream\s+Model\s+HW\s+(?P<model>\S+)(?:\s+V\S+)?\s+SW\s+(?P<firmware>\S+)"
    rf"(?:\s+DevId\s+(?P<mac>{MAC_HEX})\b)?"
)
_LEGACY_UA = re.compile(
    r"Grandstream\s+(?P<model>GXP\d+)\s+\(\S*?:(?P<firmware>[^/\s]+)/\S*\)"
    rf"(?:\s+DevId\s+(?P<mac>{MAC_HEX})\b)?"
)
USER_AGENT_SAMPLES: dict[str, tuple[str | None, str | None, str | None]] = {
    # [WZ] common.py comments and FusionPBX app/provision/index.php (docs/vendors.md §1.9)
    "Grandstream Model HW GXP1405 SW 1.0.4.23 DevId 000b8240d55c": (
        "GXP1405", "1.0.4.23", "000b8240d55c"),
    "Grandstream Model HW GXP1628 SW 1.0.4.138 DevId c074ad2bd859": (
        "GXP1628", "1.0.4.138", "c074ad2bd859"),
    "Grandstream Model HW GXP2170 SW 1.0.11.79 DevId c074ad0b63ee": (
        "GXP2170", "1.0.11.79", "c074ad0b63ee"),
    "Grandstream Model HW GXP2200 V2.2A SW 1.0.1.33 DevId 000b82462d97": (
        "GXP2200", "1.0.1.33", "000b82462d97"),
    "Grandstream Model HW GXV3350  V1.3A SW 1.0.1.8 DevId c074ad150b88": (
        "GXV3350", "1.0.1.8", "c074ad150b88"),
    "Grandstream Model HW GRP2614 SW 1.0.5.15 DevId c074ad0b63ee": (
        "GRP2614", "1.0.5.15", "c074ad0b63ee"),
    "Grandstream Model HW HT801 V1.1A SW 1.0.17.5 DevId c074ad273a10": (
        "HT801", "1.0.17.5", "c074ad273a10"),
    "Grandstream Model HW HT802V2 V1.0A SW 1.0.5.4 DevId EC74D763E419": (
        "HT802V2", "1.0.5.4", "ec74d763e419"),
    "Grandstream Model HW GXP2170 SW 1.0.11.79": ("GXP2170", "1.0.11.79", None),
    "Grandstream GXP2000 (gxp2000e.bin:1.2.5.3/boot55e.bin:1.1.6.9) DevId 000b822726c8": (
        "GXP2000", "1.2.5.3", "000b822726c8"),
}  # fmt: skip


def match_file(filename: str) -> FileRequest | None:
    """``cfg<mac>.xml``; legacy ``cfg<mac>``/``cfg<mac>.bin``; ``cfg<model>.xml``; ``cfg.xml``.

    The name is the last path segment as requested: anything with a separator, a MAC of
    the wrong length or a model we do not know is not ours; a model name with a suffix is
    its base model (``cfggrp2612w.xml`` is the GRP2612's).
    """
    if found := _MAC_FILE.fullmatch(filename):
        xml = (found["ext"] or "").lower() == ".xml"
        kind = FileKind.DEVICE if xml else FileKind.LEGACY_BINARY
        return FileRequest(NAME, kind, filename, mac=found["mac"].lower())
    if _GENERIC_FILE.fullmatch(filename):
        return FileRequest(NAME, FileKind.GENERIC, filename)
    if found := _MODEL_FILE.fullmatch(filename):
        model = longest_model_prefix(found["model"], MODELS)
        if model is not None:
            return FileRequest(NAME, FileKind.GENERIC, filename, model=model.model)
    return None


def device_filename(mac: str, model: ModelInfo) -> str:
    del model  # every model's own file is named by its MAC alone
    return f"cfg{canonical_mac(mac)}.xml"


def parse_user_agent(user_agent: str) -> UserAgentInfo | None:
    """Model (canonical when known, else as sent in upper case), firmware and MAC."""
    found = _UA.match(user_agent.strip()) or _LEGACY_UA.match(user_agent.strip())
    if found is None:
        return None
    raw_model = found["model"].upper()
    model = MODELS[raw_model].model if raw_model in MODELS else raw_model
    mac = found["mac"].lower() if found["mac"] else None
    return UserAgentInfo(NAME, model, found["firmware"], mac)
