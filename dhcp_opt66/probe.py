"""The LAN diagnostic: what the customer's DHCP servers offer a phone, judged in plain words.

One DISCOVER (``dhcp_packets.discover``), every OFFER reported, then a verdict: no server, two
servers, no provisioning option, an option pointing elsewhere, or a DNS server that does not
resolve the provisioning host. The verdict is also the exit code.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict
from urllib.parse import urlsplit

from dhcp_opt66.dhcp_packets import Offer
from dhcp_opt66.dns_check import Lookup
from dhcp_opt66.vendors import OPTION_PROV_160, OPTION_TFTP_SERVER_NAME

# dnsmasq's ping check delays the first OFFER to a new MAC by about 3 s; ISC's and Windows'
# conflict detection do much the same. Listening less misses servers.
DEFAULT_LISTEN = 6.0


class Verdict(enum.IntEnum):
    """Exit codes of ``dhcp-opt66 probe`` (1 and 2 stay click's: an error, a bad command line)."""

    OK = 0
    NO_SERVER = 3
    TWO_SERVERS = 4
    OPTION66_MISSING = 5
    OPTION66_ELSEWHERE = 6
    DNS_FAILS = 7


class DnsCheck(TypedDict):
    """The ``dns`` member of ``probe --json``: does the offered DNS server resolve the host?"""

    ok: bool
    host: str
    server: NotRequired[str]  # the DNS server asked: absent when the offer names none
    addresses: NotRequired[list[str]]  # when ok
    message: NotRequired[str]  # when not ok: what to fix


@dataclass(frozen=True)
class Diagnosis:
    verdict: Verdict
    message: str
    offers: list[Offer]
    notes: list[str] = field(default_factory=list)
    dns: DnsCheck | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.name.lower(),
            "exit_code": int(self.verdict),
            "message": self.message,
            "notes": self.notes,
            "servers": servers(self.offers),
            "offers": [offer.as_json() for offer in self.offers],
            "dns": self.dns,
        }


def servers(offers: list[Offer]) -> list[str]:
    return sorted({offer.server_id for offer in offers})


def provisioning_url(offer: Offer) -> tuple[int, str] | None:
    """The option a phone would follow: 160 first (Panasonic's order), then 66."""
    for code in (OPTION_PROV_160, OPTION_TFTP_SERVER_NAME):
        value = offer.text(code)
        if value:
            return code, value
    return None


def _parts(url: str) -> tuple[str, int | None, str]:
    """host, port, path of a URL or of a bare ``host[:port][/path]`` (Grandstream style)."""
    parts = urlsplit(url if "://" in url else "//" + url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return (parts.hostname or "").lower(), port, parts.path.rstrip("/")


def points_elsewhere(offered: str, expected: str) -> bool:
    """Whether an offered URL leaves the expected host, port (when given) or path prefix."""
    host, port, path = _parts(offered)
    want_host, want_port, want_path = _parts(expected)
    if host != want_host:
        return True
    if want_port is not None and port != want_port:
        return True
    return not path.startswith(want_path)


def diagnose(
    offers: list[Offer], expected: str | None, lookup: Callable[[str, str], Lookup]
) -> Diagnosis:
    """The verdict over every offer; ``lookup(host, dns_server)`` resolves with dnslib."""
    if not offers:
        return Diagnosis(
            Verdict.NO_SERVER,
            "no DHCP server answered: phones on this LAN get no address. Check that a DHCP "
            "server (often the router) is on and serves this VLAN.",
            offers,
        )
    notes = []
    for offer in offers:
        if provisioning_url(offer) is None:
            notes.append(f"the offer from {offer.server_id} carries no option 66 or 160")
    found = servers(offers)
    if len(found) > 1:
        return Diagnosis(
            Verdict.TWO_SERVERS,
            f"{len(found)} DHCP servers answered ({', '.join(found)}): phones take whichever is "
            "first. Switch all but one off (a second router or a home gateway is usual).",
            offers,
            notes,
        )
    offer = offers[0]
    chosen = provisioning_url(offer)
    if chosen is None:
        return Diagnosis(
            Verdict.OPTION66_MISSING,
            f"option 66 is missing (and no option 160) in the offer from {offer.server_id}: "
            "phones will not find the provisioning server. Add it: `dhcp-opt66 snippet` "
            "prints the lines for this DHCP server.",
            offers,
            notes,
        )
    code, url = chosen
    if expected and points_elsewhere(url, expected):
        return Diagnosis(
            Verdict.OPTION66_ELSEWHERE,
            f"option {code} points elsewhere: {url!r}, expected {expected!r}. Correct it on "
            f"the DHCP server {offer.server_id}.",
            offers,
            notes,
        )
    host = _parts(expected or url)[0]
    dns = _check_dns(offer, host, lookup)
    if dns is not None and not dns["ok"]:
        return Diagnosis(Verdict.DNS_FAILS, dns["message"], offers, notes, dns)
    return Diagnosis(
        Verdict.OK,
        f"one DHCP server ({offer.server_id}); option {code} = {url!r}"
        + (f"; {host} resolves to {', '.join(dns['addresses'])}" if dns else ""),
        offers,
        notes,
        dns,
    )


def _check_dns(offer: Offer, host: str, lookup: Callable[[str, str], Lookup]) -> DnsCheck | None:
    """None when there is nothing to resolve (the option names an address)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return None
    dns_servers = offer.addresses(6)
    if not dns_servers:
        return {
            "ok": False,
            "host": host,
            "message": f"the offer from {offer.server_id} names no DNS server, so phones "
            f"cannot resolve {host}",
        }
    result = lookup(host, dns_servers[0])
    if result.addresses:
        return {"ok": True, "host": host, "server": dns_servers[0], "addresses": result.addresses}
    return {
        "ok": False,
        "host": host,
        "server": dns_servers[0],
        "message": f"the offered DNS server {dns_servers[0]} does not resolve {host}: "
        f"{result.error}. Add the name to that DNS server or put an address in option 66.",
    }
