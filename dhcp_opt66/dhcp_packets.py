"""One DHCPDISCOVER out, every OFFER in (scapy), never a REQUEST: no lease is ever taken.

Used by the probe on a customer's LAN and by the bench before it starts (another server on the
bench interface means the bench must not serve). Options are decoded from their raw bytes:
scapy names some codes differently (160 as a captive portal) and the exact bytes matter.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # scapy itself is imported when a packet is sent: it takes a second to load
    from scapy.packet import Packet

# What a phone asks for, plus the options the probe reports.
PARAMETER_REQUEST_LIST = [1, 3, 6, 15, 28, 42, 43, 51, 54, 66, 67, 120, 150, 159, 160]
_ADDRESS_LISTS = {1, 3, 6, 28, 42, 54, 150}
_TEXT = {15, 66, 67, 159, 160}
OPTION_NAMES = {
    1: "subnet_mask", 3: "router", 6: "dns", 15: "domain", 28: "broadcast", 42: "ntp",
    43: "vendor_specific", 51: "lease_time", 54: "server_id", 60: "vendor_class",
    66: "tftp_server_name", 67: "bootfile", 120: "sip_servers", 150: "tftp_server_address",
    159: "prov_159", 160: "prov_160",
}  # fmt: skip


@dataclass(frozen=True)
class Offer:
    server_id: str
    from_mac: str
    from_ip: str
    yiaddr: str
    latency_ms: float
    options: dict[int, Any] = field(default_factory=dict)  # code -> decoded value

    def addresses(self, code: int) -> list[str]:
        value = self.options.get(code)
        return value if isinstance(value, list) else []

    def text(self, code: int) -> str | None:
        value = self.options.get(code)
        return value if isinstance(value, str) else None

    def as_json(self) -> dict[str, Any]:
        return {
            "server_id": self.server_id,
            "from_mac": self.from_mac,
            "from_ip": self.from_ip,
            "yiaddr": self.yiaddr,
            "latency_ms": self.latency_ms,
            "options": {OPTION_NAMES.get(c, f"option_{c}"): v for c, v in self.options.items()},
        }


def raw_options(payload: bytes) -> dict[int, bytes]:
    """code -> value of a DHCP options field; split options (RFC 3396) are joined."""
    found: dict[int, bytes] = {}
    i = 0
    while i < len(payload):
        code = payload[i]
        if code == 0:
            i += 1
            continue
        if code == 255 or i + 1 >= len(payload):
            break
        length = payload[i + 1]
        found[code] = found.get(code, b"") + payload[i + 2 : i + 2 + length]
        i += 2 + length
    return found


def decode(code: int, value: bytes) -> Any:
    if code in _ADDRESS_LISTS:
        usable = len(value) - len(value) % 4
        return [str(ipaddress.IPv4Address(value[j : j + 4])) for j in range(0, usable, 4)]
    if code == 51:
        return int.from_bytes(value, "big")
    if code == 43:
        return _vendor_specific(value)
    if code in _TEXT:
        try:
            return value.rstrip(b"\0").decode("ascii")
        except UnicodeDecodeError:
            pass
    return {"hex": value.hex()}


def _vendor_specific(value: bytes) -> dict[str, Any]:
    """Option 43 as hex, and as TLV sub-options where it parses (TR-069: 1 = ACS URL)."""
    decoded: dict[str, Any] = {"hex": value.hex()}
    subs, j = [], 0
    while j + 2 <= len(value) and value[j] != 255:
        code, length = value[j], value[j + 1]
        if j + 2 + length > len(value):
            return decoded
        subs.append({"sub": code, "value": value[j + 2 : j + 2 + length].decode("latin-1")})
        j += 2 + length
    if subs:
        decoded["tlv"] = subs
    return decoded


# Replies come back on the client port, from the server port.
REPLY_FILTER = "udp and src port 67 and dst port 68"


def client_packet(mac: str, xid: int, options: list[Any]) -> Packet:
    """A broadcast DHCP client message (broadcast flag set: the client has no address yet)."""
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    chaddr = bytes.fromhex(mac.replace(":", ""))
    return (
        Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
        / IP(src="0.0.0.0", dst="255.255.255.255")  # noqa: S104 - DHCP client source
        / UDP(sport=68, dport=67)
        / BOOTP(chaddr=chaddr, xid=xid, flags=0x8000)
        / DHCP(options=[*options, ("client_id", b"\x01" + chaddr), "end"])
    )


def discover_options(vendor_class: str | None = None) -> list[Any]:
    options: list[Any] = [
        ("message-type", "discover"),
        ("param_req_list", PARAMETER_REQUEST_LIST),
        ("max_dhcp_size", 1500),
    ]
    if vendor_class:
        options.append(("vendor_class_id", vendor_class.encode()))
    return options


def discover(
    iface: str, timeout: float, mac: str | None = None, vendor_class: str | None = None
) -> list[Offer]:
    """Broadcast one DISCOVER on ``iface`` and collect every OFFER for ``timeout`` seconds."""
    from scapy.all import conf, get_if_hwaddr, srp
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import IP
    from scapy.layers.l2 import Ether

    conf.verb = 0
    conf.checkIPaddr = False  # offers come from the server's address, not the broadcast one
    mac = mac or get_if_hwaddr(iface)
    xid = random.getrandbits(32)
    packet = client_packet(mac, xid, discover_options(vendor_class))
    answered, _ = srp(
        packet,
        iface=iface,
        multi=True,
        timeout=timeout,
        filter=REPLY_FILTER,
    )
    offers = []
    for sent, received in answered:
        if DHCP not in received or received[BOOTP].xid != xid:
            continue
        raw = raw_options(bytes(received[DHCP]))
        if raw.get(53) != b"\x02":
            continue
        decoded = {code: decode(code, value) for code, value in sorted(raw.items()) if code != 53}
        server = decoded.get(54) or [received[IP].src]
        # scapy stamps each request as it sends it; its times may be Decimals (pcap clocks).
        assert sent.sent_time is not None, "srp answered a request it never sent"
        latency = float(received.time) - float(sent.sent_time)
        offers.append(
            Offer(
                server_id=server[0],
                from_mac=received[Ether].src,
                from_ip=received[IP].src,
                yiaddr=received[BOOTP].yiaddr,
                latency_ms=round(latency * 1000, 1),
                options=decoded,
            )
        )
    return offers
