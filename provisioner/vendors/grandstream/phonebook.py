"""The tenant's phonebook as Grandstream's phonebook XML, and where a phone fetches it.

Format (FusionPBX's Grandstream ``phonebook.xml`` templates; docs/vendors.md "Phonebook"): an
``<AddressBook>`` of ``<pbgroup>`` (id, name) and ``<Contact>`` elements, each with the whole
name in ``<FirstName>`` (as FusionPBX writes a name it cannot split), ``<Phone type="Work|Home|
Cell">`` with ``<phonenumber>`` and ``<accountindex>``, and ``<Group>`` naming a pbgroup id.
Contacts are written in the order given (by reading, see ``domain/phonebook``); the phone may
sort again by its own rule (``phonebook.sortBy``, left alone).

The phone fetches ``<server path>/phonebook.xml`` every ``interval`` minutes: P330 (0 off, 1
HTTP, 3 HTTPS), P331 (host/path), P332 (minutes, 5-720 on GXP16xx) on GXP16xx;
``phonebook.download.mode``/``.server``/``.interval`` (0, 120 ... 720) and the credentials
``phonebook.download.username``/``.password`` on GXP21xx/GRP26xx. The GXP16xx template has no
phonebook credentials: whether it answers the Digest challenge with its config credentials is
not verified (docs/vendors.md §6). The ATAs have no phonebook.
"""

from __future__ import annotations

from collections.abc import Sequence

from provisioner.vendors.base import (
    DeviceKind,
    DeviceView,
    ModelInfo,
    PhonebookEntry,
    ProvisioningContext,
    TemplatePlan,
)
from provisioner.vendors.common import Params, provisioning_paths
from provisioner.vendors.grandstream.models import ALIAS_FORMAT

TEMPLATE = "grandstream/phonebook.xml.j2"
CONTENT_TYPE = "application/xml; charset=utf-8"
INTERVAL_MINUTES = "720"  # the longest both forms take: changes show within half a day
_PHONE_TYPES = {"office": "Work", "extension": "Work", "home": "Home", "mobile": "Cell"}


def phonebook_path(mac: str) -> str:
    """The URL path the phone fetches its phonebook at (it appends ``/phonebook.xml``)."""
    return f"/phonebook/{mac}"


def phonebook(model: ModelInfo, entries: Sequence[PhonebookEntry]) -> TemplatePlan | None:
    """The phonebook file for a phone of ``model`` (None for an ATA)."""
    if model.kind is not DeviceKind.PHONE:
        return None
    names = sorted({entry.group for entry in entries if entry.group})
    group_ids = {name: n for n, name in enumerate(names, start=1)}
    contacts = [
        {
            "id": n,
            "name": entry.name,
            "group": group_ids.get(entry.group, 0),
            "phones": [
                {"type": _PHONE_TYPES[kind], "number": number} for kind, number in entry.numbers
            ],
        }
        for n, entry in enumerate(entries, start=1)
    ]
    groups = [{"id": n, "name": name} for name, n in group_ids.items()]
    return TemplatePlan(TEMPLATE, (), CONTENT_TYPE, {"groups": groups, "contacts": contacts})


def phonebook_params(device: DeviceView, ctx: ProvisioningContext) -> Params:
    """Where and how often the phone fetches its tenant's phonebook (phones of a tenant)."""
    if device.model.kind is not DeviceKind.PHONE or device.tenant is None:
        return []
    scheme, config_path, _ = provisioning_paths(ctx)
    server = config_path + phonebook_path(device.mac)
    if device.model.file_format != ALIAS_FORMAT:
        return [("P330", "3" if scheme == "https" else "1"), ("P331", server),
                ("P332", INTERVAL_MINUTES)]  # fmt: skip
    params: Params = [
        ("phonebook.download.mode", "EnabledUseHTTPS" if scheme == "https" else "EnabledUseHTTP"),
        ("phonebook.download.server", server),
        ("phonebook.download.interval", INTERVAL_MINUTES),
    ]
    if device.credentials is not None:  # like the config credentials: bench deliveries only
        params += [
            ("phonebook.download.username", device.credentials.http_user),
            ("phonebook.download.password", device.credentials.http_password),
        ]
    return params
