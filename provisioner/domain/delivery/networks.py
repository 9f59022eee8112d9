"""Which network a request comes from: the bench's, a tenant's, or one of our load balancers."""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """The networks of a setting or a tenant; a bad entry is logged and left out, not fatal."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            log.error("ignoring bad network %r", cidr)
    return tuple(networks)


def in_networks(source: str, networks: Iterable[Network]) -> bool:
    """Whether ``source`` is in one of ``networks``; an IPv4 client seen on an IPv6 socket
    (``::ffff:a.b.c.d``) counts as its IPv4 address, and a non-address is in none."""
    try:
        address = ipaddress.ip_address(source.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


@functools.lru_cache(maxsize=65_536)
def lockout_key(source: str) -> str:
    """The unit a rate limit and a lockout count: an IPv4 address (an IPv4 client seen on an
    IPv6 socket, ``::ffff:a.b.c.d``, is that address), or an IPv6 address's /64.

    One IPv6 host is given a whole /64 and picks any address in it: counted per address, it
    would have unlimited tries. A non-address (the CLI) is its own key. Cached: a storm brings
    the same sources again and again.
    """
    try:
        address = ipaddress.ip_address(source.split("%", 1)[0])
    except ValueError:
        return source
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_address(peer: str, forwarded_for: str | None, proxies: Iterable[Network]) -> str:
    """The device's address: the peer, or, when the peer is a trusted load balancer, the
    nearest X-Forwarded-For hop that is not one of ours (hops further left are the client's
    own claims and prove nothing)."""
    proxies = tuple(proxies)
    if not forwarded_for or not in_networks(peer, proxies):
        return peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a malformed chain proves nothing: trust none of it
        if not in_networks(hop, proxies):
            return hop
    return peer
