"""The bench's settings, from a TOML file (table ``[bench]``) and command-line options, checked
once so the dnsmasq configuration made from them can never be broken by a value.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_HOSTNAME = re.compile(
    r"(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*"
)
_LEASE = re.compile(r"\d+[smhd]?|infinite")
_URL_SCHEMES = ("http", "https", "tftp")
_IFACE = re.compile(r"[A-Za-z0-9_.:-]{1,15}")


class BenchConfigError(ValueError):
    """A bench setting that cannot work; the message says which and what to write."""


@dataclass(frozen=True)
class Bench:
    iface: str
    address: ipaddress.IPv4Interface  # the bench's own address and prefix on iface
    provisioning_url: str  # base URL the phones fetch from, e.g. http://prov.bench.test:8080
    range_start: ipaddress.IPv4Address
    range_end: ipaddress.IPv4Address
    lease_time: str = "1h"
    domain: str = "bench.test"
    provisioning_ip: ipaddress.IPv4Address | None = None  # A record of the URL's host
    ntp: tuple[ipaddress.IPv4Address, ...] = ()
    router: ipaddress.IPv4Address | None = None
    pbx_core: str = ""  # host[:port] for _sip._udp SRV
    pbx_core_ip: ipaddress.IPv4Address | None = None  # A record of the SRV target
    grandstream_option160: bool = False
    dns_port: int = 53
    state_dir: Path = field(default_factory=lambda: Path("dhcp-bench"))
    api_url: str = ""  # provisioner base URL for lease events; empty: no lease events
    pnp: bool = True
    pnp_port: int = 5060

    @property
    def provisioning_host(self) -> str:
        return urlsplit(self.provisioning_url).hostname or ""

    @property
    def pbx_host(self) -> str:
        return self.pbx_core.rsplit(":", 1)[0] if self.pbx_core else ""

    @property
    def pbx_port(self) -> int:
        port = self.pbx_core.partition(":")[2]
        return int(port) if port else 5060

    @property
    def sip_srv_name(self) -> str:
        return f"_sip._udp.{self.domain}"


def load(path: Path | None, overrides: dict[str, Any]) -> Bench:
    """Settings from ``path`` (optional) with non-None ``overrides`` on top, checked."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8")).get("bench", {})
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise BenchConfigError(f"cannot read bench settings {path}: {exc}") from exc
    raw |= {key: value for key, value in overrides.items() if value not in (None, ())}
    known = {f.name for f in fields(Bench)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise BenchConfigError(f"unknown bench settings: {', '.join(unknown)}")
    return check(raw)


def check(raw: dict[str, Any]) -> Bench:
    for needed in ("iface", "address", "provisioning_url"):
        if not raw.get(needed):
            raise BenchConfigError(
                f"bench setting {needed!r} is missing (--{needed.replace('_', '-')})"
            )
    iface = str(raw["iface"])
    if not _IFACE.fullmatch(iface):
        raise BenchConfigError(f"bad interface name {iface!r}")
    address = _interface(raw["address"])
    network = address.network
    # dnsmasq does not hold an offered address for its client: in a burst, clients whose MACs
    # hash near each other are offered one address and all but one are NAKed. A wide range
    # keeps those collisions rare (default: .20 to .250 of a /24).
    start = _address(raw.get("range_start") or network.network_address + 20, "range_start")
    end = _address(raw.get("range_end") or network.broadcast_address - 5, "range_end")
    for name, value in (("range_start", start), ("range_end", end)):
        if value not in network or value in (network.network_address, network.broadcast_address):
            raise BenchConfigError(f"{name} {value} is not a host of the bench network {network}")
    if int(end) < int(start):
        raise BenchConfigError(f"range_end {end} comes before range_start {start}")
    if int(start) <= int(address.ip) <= int(end):
        raise BenchConfigError(
            f"the bench address {address.ip} lies inside the range {start}-{end}"
        )
    bench = Bench(
        iface=iface,
        address=address,
        provisioning_url=check_url(str(raw["provisioning_url"])),
        range_start=start,
        range_end=end,
        lease_time=_lease(str(raw.get("lease_time", "1h"))),
        domain=_hostname(str(raw.get("domain", "bench.test")), "domain"),
        provisioning_ip=_optional_address(raw.get("provisioning_ip"), "provisioning_ip"),
        ntp=tuple(_address(item, "ntp") for item in _list(raw.get("ntp"))),
        router=_optional_address(raw.get("router"), "router"),
        pbx_core=_pbx_core(str(raw.get("pbx_core", ""))),
        pbx_core_ip=_optional_address(raw.get("pbx_core_ip"), "pbx_core_ip"),
        grandstream_option160=_bool(
            raw.get("grandstream_option160", False), "grandstream_option160"
        ),
        dns_port=_port(raw.get("dns_port", 53), "dns_port"),
        state_dir=Path(raw.get("state_dir", "dhcp-bench")),
        api_url=_api_url(str(raw.get("api_url", ""))),
        pnp=_bool(raw.get("pnp", True), "pnp"),
        pnp_port=_port(raw.get("pnp_port", 5060), "pnp_port"),
    )
    return replace(
        bench,
        provisioning_ip=bench.provisioning_ip or address.ip,
        ntp=bench.ntp or (address.ip,),
        router=bench.router or address.ip,
    )


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [item for item in value.split(",") if item.strip()]
    return list(value)


def _interface(value: Any) -> ipaddress.IPv4Interface:
    try:
        found = ipaddress.IPv4Interface(str(value))
    except ValueError:
        raise BenchConfigError(
            f"address {value!r} must be the bench's IPv4/prefix, e.g. 10.204.1.1/24"
        ) from None
    if "/" not in str(value):
        raise BenchConfigError(f"address {value!r} needs its prefix length, e.g. {value}/24")
    return found


def _address(value: Any, name: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(str(value).strip())
    except ValueError:
        raise BenchConfigError(f"{name} {value!r} is not an IPv4 address") from None


def _optional_address(value: Any, name: str) -> ipaddress.IPv4Address | None:
    return _address(value, name) if value else None


def _hostname(value: str, name: str) -> str:
    if not _HOSTNAME.fullmatch(value):
        raise BenchConfigError(f"{name} {value!r} is not a host name (letters, digits, '-', '.')")
    return value.lower()


def check_url(value: str) -> str:
    if any(ch.isspace() or ord(ch) < 32 or ch in '"\\,#' for ch in value):
        raise BenchConfigError(
            f"provisioning_url {value!r} may not hold spaces, control characters, quotes, "
            "backslashes, commas or '#'"
        )
    parts = urlsplit(value)
    if parts.scheme not in _URL_SCHEMES or not parts.hostname:
        raise BenchConfigError(
            f"provisioning_url {value!r} must be {'/'.join(_URL_SCHEMES)}://HOST[:PORT][/PATH]"
        )
    _address_or_hostname(parts.hostname)
    return value


def _address_or_hostname(host: str) -> None:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        _hostname(host, "host")


def _api_url(value: str) -> str:
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BenchConfigError(f"api_url {value!r} must be http(s)://HOST[:PORT]")
    return value.rstrip("/")


def _pbx_core(value: str) -> str:
    if not value:
        return ""
    host, _, port = value.partition(":")
    _hostname(host, "pbx_core host")
    if port:
        _port(port, "pbx_core port")
    return value.lower()


def _port(value: Any, name: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise BenchConfigError(f"{name} {value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise BenchConfigError(f"{name} {port} is not a port number (1-65535)")
    return port


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise BenchConfigError(f"{name} must be true or false")
    return value


def _lease(value: str) -> str:
    if not _LEASE.fullmatch(value):
        raise BenchConfigError(f"lease_time {value!r} must look like 3600, 45m, 1h, 1d or infinite")
    return value
