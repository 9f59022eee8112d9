"""The tenant's phonebook as Panasonic's network phonebook, and where a phone asks for it.

Format: the ``PhoneBook`` element of Panasonic's XML application (XML Application Developer's
Guide for KX-TGP600 and KX-HDV100/130/230/330/430, §5.2.8; docs/vendors.md §4c): a
``<ppxml xmlns="http://panasonic/sip_phone">`` document whose ``<Screen><PhoneBook>`` holds
``<Personnel id="n">`` elements, each with ``<Name>`` (at most 24 characters), an optional
``<Ruby>`` (the reading, at most 24 characters, none of ``" & ' < >``) and ``<PhoneNums>`` of
``<PhoneNum type="ext|company|mobile|home">`` (1-32 of ``0-9 # *``). The id is the display
order: 1-20, but 1-10 on Japanese-market models, so one answer carries at most
:data:`MAX_ENTRIES` contacts. The phone searches the server instead of downloading the whole
book (the guide's "GET PhoneBook method", §3.3.3): we read the search text from the ``name``
query parameter (the name sipwise's ngcp-panel reads for its Panasonic directory; the guide's
request page was not found, docs/vendors.md §6) and answer the first matches in reading order.

What cannot be written is left out rather than changed: a name or reading is cut to 24
characters, a number with a leading ``+`` (which the phone cannot hold) is dropped, and a
contact left without numbers is not listed.

Where the phone asks: ``XMLAPP_LDAP_URL`` (:mod:`.catalogue` names its one source), with the
XML application turned on (``XMLAPP_ENABLE``, named in Panasonic's KX-UTG samples; the guide
says turning it on reboots the phone, once). The URL carries the device's credentials like its
own file's URL (KX-HDV100 guide §2.1) and, like that URL, is only in the bench file: the field
file says nothing, so the phone keeps it. ``XMLAPP_USERID``/``XMLAPP_USERPASS`` (same samples)
are not used: whether the phone sends them as HTTP authentication or as a query is not
documented.
KX-UT phones are not covered by that guide: they get no phonebook.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from provisioner.vendors.base import DeviceView, ModelInfo, PhonebookEntry, TemplatePlan
from provisioner.vendors.common import Params

TEMPLATE = "panasonic/phonebook.xml.j2"
CONTENT_TYPE = "application/xml; charset=utf-8"
FILENAME = "panasonic.xml"
FAMILIES = frozenset({"kx-hdv", "kx-tgp600"})
MAX_ENTRIES = 10  # Personnel ids 1-10 on Japanese-market models (1-20 elsewhere)
MAX_TEXT = 24
_NUM_TYPES = {"office": "company", "extension": "ext", "home": "home", "mobile": "mobile"}
_DIALLABLE = re.compile(r"[0-9#*]{1,32}")
_NOT_IN_RUBY = str.maketrans("", "", "\"&'<>")


def takes_phonebook(model: ModelInfo) -> bool:
    """Whether ``model`` has the XML application's network phonebook."""
    return model.family in FAMILIES


def phonebook(model: ModelInfo, entries: Sequence[PhonebookEntry]) -> TemplatePlan | None:
    """The first :data:`MAX_ENTRIES` writable contacts of ``entries`` (already searched and
    in display order) as a ``PhoneBook`` answer; None for a model without the application."""
    if not takes_phonebook(model):
        return None
    people: list[dict[str, object]] = []
    for entry in entries:
        numbers = [
            {"type": _NUM_TYPES[kind], "number": number}
            for kind, number in entry.numbers
            if _DIALLABLE.fullmatch(number)
        ]
        if numbers:
            people.append(
                {
                    "id": len(people) + 1,
                    "name": entry.name[:MAX_TEXT],
                    "ruby": entry.reading.translate(_NOT_IN_RUBY)[:MAX_TEXT],
                    "numbers": numbers,
                }
            )
        if len(people) == MAX_ENTRIES:
            break
    return TemplatePlan(TEMPLATE, (), CONTENT_TYPE, {"people": people})


def phonebook_params(device: DeviceView, base: str) -> Params:
    """The XML application on and ``XMLAPP_LDAP_URL`` under ``base`` (our front door, with the
    device's credentials) for a tenant's phone that has the application; nothing otherwise."""
    if device.tenant is None or not takes_phonebook(device.model):
        return []
    return [
        ("XMLAPP_ENABLE", "Y"),
        ("XMLAPP_LDAP_URL", f"{base}/phonebook/{device.mac}/{FILENAME}"),
    ]
