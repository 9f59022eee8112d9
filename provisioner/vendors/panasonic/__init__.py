"""Panasonic SIP phones (KX-HDV, KX-TGP600, KX-UT1xx) in the "Standard Format" text file.

:data:`VENDOR` is what the registry (:mod:`provisioner.vendors`) holds; its parts are the model
table (:mod:`.models`), file names and User-Agents (:mod:`.files`), what a setting can hold
(:mod:`.parameters`) and the values the files get (:mod:`.plan`).
"""

from __future__ import annotations

from collections.abc import Mapping

from provisioner.vendors import common
from provisioner.vendors.base import ModelInfo
from provisioner.vendors.panasonic import files
from provisioner.vendors.panasonic.models import MODELS, NAME
from provisioner.vendors.panasonic.plan import plan as plan_file


def _no_seal(body: bytes, key: str) -> bytes | None:
    """None: Panasonic's .e2c/.e3c cipher is not documented (§2.4); HTTPS protects the file."""
    del body, key
    return None


class Panasonic:
    """The :class:`~provisioner.vendors.base.VendorModule` for Panasonic."""

    name = NAME
    models: Mapping[str, ModelInfo] = MODELS

    match_file = staticmethod(files.match_file)
    device_filename = staticmethod(files.device_filename)
    parse_user_agent = staticmethod(files.parse_user_agent)
    # The CFG_RESYNC_FROM_SIP value the file sets; FusionPBX's flag for a reboot.
    resync_event = staticmethod(common.resync_event)
    seal = staticmethod(_no_seal)
    plan = staticmethod(plan_file)


VENDOR = Panasonic()
