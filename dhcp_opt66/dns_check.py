"""Asks one DNS server for a name's A records (dnslib), the way a phone would, no recursion."""

from __future__ import annotations

from dataclasses import dataclass

from dnslib import QTYPE, RCODE, DNSRecord
from dnslib.dns import DNSError

DNS_TIMEOUT = 2.0


@dataclass(frozen=True)
class Lookup:
    addresses: list[str]
    error: str = ""


def resolve(host: str, server: str, port: int = 53, timeout: float = DNS_TIMEOUT) -> Lookup:
    query = DNSRecord.question(host, "A")
    try:
        answer = DNSRecord.parse(query.send(server, port, timeout=timeout))
    except TimeoutError:
        return Lookup([], f"no answer within {timeout:g} s")
    except OSError as exc:
        return Lookup([], f"cannot reach it ({exc.strerror or exc})")
    except DNSError as exc:
        return Lookup([], f"its answer is not DNS ({exc})")
    if answer.header.id != query.header.id:
        return Lookup([], "its answer is for another query")
    if answer.header.rcode != RCODE.NOERROR:
        return Lookup([], f"it answered {RCODE[answer.header.rcode]}")
    found = [str(rr.rdata) for rr in answer.rr if rr.rtype == QTYPE.A]
    return Lookup(found, "" if found else "it has no A record for the name")
