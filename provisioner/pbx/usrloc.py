"""Reads a Kamailio core's location table over JSON-RPC (``ul.dump``, jsonrpcs over xhttp).

Why JSON-RPC and not the ``location`` table with a ``db_mode``: the core keeps usrloc in memory
(``db_mode`` 0), so a registration is visible the moment it is saved and an ``Expires: 0`` the
moment it is removed; a write-back mode would delay both by its timer and put every REGISTER of a
boot storm on the SQLite file the export also writes. One HTTP POST per poll reads every contact of
a core, and the same call works for several cores on other machines.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from provisioner.domain.registrations.sync import Contact, CoreUnreadable

TIMEOUT = 2.0
NOT_SET = "[not set]"
PERMANENT = 10 * 365 * 86400


def parse_dump(document: object) -> list[Contact]:
    """The contacts in a ``ul.dump`` answer; anything else is :class:`CoreUnreadable`."""
    try:
        result: Any = document["result"]  # type: ignore[index]
        contacts = []
        for domain in result.get("Domains") or []:
            for aor in domain["Domain"].get("AoRs") or []:
                info = aor["Info"]
                for item in info.get("Contacts") or []:
                    contact = item["Contact"]
                    expires = _expires(contact["Expires"])
                    if expires is None:
                        continue
                    contacts.append(
                        Contact(
                            username=str(info["AoR"]).split("@", 1)[0],
                            contact=str(contact["Address"]),
                            source=_source(contact),
                            user_agent=_set(contact.get("User-Agent")),
                            expires_in=expires,
                        )
                    )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CoreUnreadable(f"not a ul.dump answer: {exc!r}") from None
    return contacts


def _expires(value: object) -> int | None:
    """Seconds left; None for a contact past its expiry that the core's timer has not swept
    yet ("expired", "deleted"); a static contact ("permanent") counts as ten years."""
    if value == "permanent":
        return PERMANENT
    if isinstance(value, str) and not value.lstrip("-").isdigit():
        return None
    seconds = int(str(value))
    return seconds if seconds > 0 else None


def _set(value: object) -> str | None:
    return None if value in (None, NOT_SET, "") else str(value)


def _source(contact: dict[str, Any]) -> str | None:
    """Where the REGISTER came from: the core's ``received`` when it noted one (NAT), else the
    host and port of the contact itself (a phone on the same network as the core)."""
    received = _set(contact.get("Received"))
    address = received or _set(contact.get("Address"))
    if address is None:
        return None
    host = address.split("@", 1)[-1].split(";", 1)[0].split(">", 1)[0]
    return host.removeprefix("sip:")


def _call(url: str, method: str, params: list[str], timeout: float) -> Any:
    """One JSON-RPC call to the core at ``url``; its ``result``."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"registration reader {url!r} must be an http:// URL")
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}).encode()
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            document = json.loads(answer.read(1024 * 1024))
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise CoreUnreadable(f"{url}: {exc}") from None
    if not isinstance(document, dict) or "result" not in document:
        raise CoreUnreadable(f"{url}: {method} answered {str(document)[:200]}")
    return document["result"]


def representative_calls(url: str, tenants: list[str], timeout: float = TIMEOUT) -> dict[str, int]:
    """Calls in progress on each tenant's representative numbers at the core at ``url`` (its
    dialog profile ``representative_tenant``)."""
    counts = {}
    for tenant in tenants:
        result = _call(url, "dlg.profile_get_size", ["representative_tenant", tenant], timeout)
        try:
            counts[tenant] = int(result["size"] if isinstance(result, dict) else result)
        except (KeyError, TypeError, ValueError):
            raise CoreUnreadable(f"{url}: not a profile size: {str(result)[:200]}") from None
    return counts


def reader(url: str, timeout: float = TIMEOUT) -> Callable[[], list[Contact]]:
    """A function that reads the core at ``url`` (``http://IP:PORT/RPC``) once."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"registration reader {url!r} must be an http:// URL")
    body = json.dumps({"jsonrpc": "2.0", "method": "ul.dump", "id": 1}).encode()

    def read() -> list[Contact]:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            url, data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
                document = json.loads(answer.read(16 * 1024 * 1024))
        except (OSError, urllib.error.URLError, ValueError) as exc:
            raise CoreUnreadable(f"{url}: {exc}") from None
        return parse_dump(document)

    return read
