"""Panasonic SIP phones (KX-HDV, KX-TGP600, KX-UT1xx) in the "Standard Format" text file.

:data:`VENDOR` is what the registry (:mod:`provisioner.vendors`) holds; its parts are the model
table (:mod:`.models`), file names and User-Agents (:mod:`.files`), what a setting can hold
(:mod:`.parameters`), the values the files get (:mod:`.plan`) and the network phonebook
(:mod:`.phonebook`).
"""

from __future__ import annotations

from provisioner.vendors import common
from provisioner.vendors.base import VendorModule
from provisioner.vendors.panasonic import files, keys, parameters, phonebook, plan, raw, settings
from provisioner.vendors.panasonic.models import MODELS, NAME


def _no_seal(body: bytes, key: str) -> bytes | None:
    """None: Panasonic's .e2c/.e3c cipher is not documented (§2.4); HTTPS protects the file."""
    del body, key
    return None


VENDOR = VendorModule(
    name=NAME,
    models=MODELS,
    match_file=files.match_file,
    parse_user_agent=files.parse_user_agent,
    device_filename=files.device_filename,
    check_text=parameters.check_text_value,
    unwritable_characters=parameters.UNWRITABLE_CHARACTERS,
    # The CFG_RESYNC_FROM_SIP value the file sets; FusionPBX's flag for a reboot.
    resync_event=common.resync_event,
    seal=_no_seal,
    plan=plan.plan,
    setting_problem=settings.setting_problem,
    raw_parameter_problem=raw.raw_parameter_problem,
    key_layout=keys.key_layout,
    phonebook=phonebook.phonebook,
)
