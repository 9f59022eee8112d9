"""Grandstream phones (GXP16xx, GXP21xx, GRP26xx) and ATAs (HT80x, HT81x).

:data:`VENDOR` is what the registry (:mod:`provisioner.vendors`) holds; its parts are the model
table (:mod:`.models`), file names and User-Agents (:mod:`.files`), where settings live
(:mod:`.parameters`), the values they get (:mod:`.plan`) and config encryption (:mod:`.crypto`).
"""

from __future__ import annotations

from collections.abc import Mapping

from provisioner.vendors import common
from provisioner.vendors.base import ModelInfo
from provisioner.vendors.grandstream import files
from provisioner.vendors.grandstream.crypto import encrypt_config
from provisioner.vendors.grandstream.models import MODELS, NAME
from provisioner.vendors.grandstream.plan import plan as plan_file


class Grandstream:
    """The :class:`~provisioner.vendors.base.VendorModule` for Grandstream."""

    name = NAME
    models: Mapping[str, ModelInfo] = MODELS

    match_file = staticmethod(files.match_file)
    device_filename = staticmethod(files.device_filename)
    parse_user_agent = staticmethod(files.parse_user_agent)
    # ``check-sync`` (as Wazo sends); the reboot flag only when a reboot is wanted.
    resync_event = staticmethod(common.resync_event)
    # AES-256-CBC under P1359, which the device got in clear on the bench (§1.8).
    seal = staticmethod(encrypt_config)
    plan = staticmethod(plan_file)


VENDOR = Grandstream()
