"""Grandstream phones (GXP16xx, GXP21xx, GRP26xx) and ATAs (HT80x, HT81x).

:data:`VENDOR` is what the registry (:mod:`provisioner.vendors`) holds; its parts are the model
table (:mod:`.models`), file names and User-Agents (:mod:`.files`), where settings live
(:mod:`.parameters`), the values they get (:mod:`.plan`) and config encryption (:mod:`.crypto`).
"""

from __future__ import annotations

from provisioner.vendors import common
from provisioner.vendors.base import VendorModule
from provisioner.vendors.grandstream import files, keys, phonebook, plan, raw, settings
from provisioner.vendors.grandstream.crypto import encrypt_config
from provisioner.vendors.grandstream.models import MODELS, NAME

VENDOR = VendorModule(
    name=NAME,
    models=MODELS,
    match_file=files.match_file,
    parse_user_agent=files.parse_user_agent,
    device_filename=files.device_filename,
    # XML escapes whatever a setting holds but the control characters no device setting takes.
    check_text=common.refuse_unwritable_characters,
    unwritable_characters="",
    # ``check-sync`` (as Wazo sends); the reboot flag only when a reboot is wanted.
    resync_event=common.resync_event,
    # AES-256-CBC under P1359, which the device got in clear on the bench (§1.8).
    seal=encrypt_config,
    plan=plan.plan,
    setting_problem=settings.setting_problem,
    raw_parameter_problem=raw.raw_parameter_problem,
    key_layout=keys.key_layout,
    phonebook=phonebook.phonebook,
)
