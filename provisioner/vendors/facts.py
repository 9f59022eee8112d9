"""Plain facts about the phone vendors, written once for every part that needs them.

The vendor packages, the DHCP side (``dhcp_opt66``), the firmware catalogue, the PoE alerts and
the demo data all read these. Standard library only, so ``dhcp_opt66`` and ``firmware`` may
import it: importing it runs the registry in ``provisioner/vendors/__init__.py`` as Python
does for any package, which takes no database, Flask or Jinja2 in. Sources: ``docs/vendors.md``
and ``docs/lan.md``, 'DHCP options per vendor'.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

GRANDSTREAM = "grandstream"
PANASONIC = "panasonic"
VENDOR_NAMES: tuple[str, ...] = (GRANDSTREAM, PANASONIC)

# IEEE OUIs (a MAC's first three bytes) as 6 lower-case hex digits; the Grandstream ones are those
# of wazo-provd's DHCP classes. The first of each vendor is the one demo devices get.
OUIS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        GRANDSTREAM: ("000b82", "c074ad", "ec74d7"),
        PANASONIC: ("0080f0",),
    }
)

# Substrings of DHCP option 60 (vendor class identifier): a GXP2170 sends "Grandstream GXP2170
# dslforum.org", an HT80x "HT8XX dslforum.org". Panasonic's exact string was never captured.
VENDOR_CLASSES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        GRANDSTREAM: ("Grandstream", "HT8XX"),
        PANASONIC: ("Panasonic",),
    }
)

# Vendors whose devices have no power supply of their own: Panasonic desk phones ship without an
# AC adapter, so a port that stops delivering power leaves them dark.
POE_ONLY_VENDORS: frozenset[str] = frozenset({PANASONIC})

# Both vendors write firmware versions as dotted decimal components; leading zeros carry no
# meaning (Panasonic's 01.133 is 1.133).
FIRMWARE_VERSION_PATTERN = r"[0-9]{1,9}(?:\.[0-9]{1,9})+"
FIRMWARE_VERSION_EXAMPLES: Mapping[str, str] = MappingProxyType(
    {
        GRANDSTREAM: "1.0.11.79",
        PANASONIC: "01.133",
    }
)
