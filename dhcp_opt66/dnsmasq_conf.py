"""The dnsmasq configuration for a bench, made from its settings and nothing else.

Every value was checked by :mod:`dhcp_opt66.settings`, so no value can end a line or a quoted
string early. dnsmasq listens on the bench address of the bench interface only (no loopback,
no wildcard), answers DHCP authoritatively without the ping check, and serves the bench's DNS
names without ever forwarding a query.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from dhcp_opt66.settings import Bench
from dhcp_opt66.vendors import VENDORS, Vendor

LEASE_FILE = "leases"
PID_FILE = "dnsmasq.pid"
HOOK_FILE = "lease-hook"
CONF_FILE = "dnsmasq.conf"


def render(bench: Bench, state_dir: Path, hook: Path | None = None) -> str:
    """The whole configuration file; ``hook`` is the executable dnsmasq runs per lease event."""
    ip = bench.address.ip
    lines = [
        "# Made by `dhcp-opt66 bench`; edits are lost at the next start.",
        f"interface={bench.iface}",
        "except-interface=lo",
        f"listen-address={ip}",
        "bind-interfaces",
        f"port={bench.dns_port}",
        "no-resolv",
        "no-hosts",
        "no-poll",
        "domain-needed",
        "bogus-priv",
        f"local=/{bench.domain}/",
        f"domain={bench.domain}",
        *_dns_records(bench),
        f"dhcp-range={bench.range_start},{bench.range_end},{bench.address.netmask},"
        f"{bench.lease_time}",
        "dhcp-authoritative",
        "no-ping",
        f"dhcp-leasefile={state_dir / LEASE_FILE}",
        f"pid-file={state_dir / PID_FILE}",
        "log-dhcp",
        "log-facility=-",
        f"dhcp-option=option:router,{bench.router}",
        f"dhcp-option=option:dns-server,{ip}",
        "dhcp-option=option:ntp-server," + ",".join(str(server) for server in bench.ntp),
    ]
    if hook is not None:
        lines.append(f"dhcp-script={hook}")
    for vendor in VENDORS.values():
        lines += vendor_lines(vendor, bench.provisioning_url, bench.grandstream_option160)
    return "\n".join(lines) + "\n"


def vendor_lines(vendor: Vendor, url: str, with_160: bool) -> list[str]:
    """Tag the vendor's clients by option 60 or MAC prefix, then give them its options."""
    tag = vendor.name
    lines = [f"# {vendor.name}: by vendor class or MAC prefix"]
    lines += [f"dhcp-vendorclass=set:{tag},{text}" for text in vendor.vendor_classes]
    lines += [f"dhcp-mac=set:{tag},{prefix}:*:*:*" for prefix in vendor.mac_prefixes]
    for option in vendor.options(with_160):
        keyword = "dhcp-option-force" if option.force else "dhcp-option"
        lines.append(f'{keyword}=tag:{tag},{option.code},"{option.value(url)}"')
    return lines


def _dns_records(bench: Bench) -> list[str]:
    records = []
    if not _is_address(bench.provisioning_host):
        records.append(f"host-record={bench.provisioning_host},{bench.provisioning_ip}")
    if bench.pbx_core:
        if bench.pbx_core_ip is not None and not _is_address(bench.pbx_host):
            records.append(f"host-record={bench.pbx_host},{bench.pbx_core_ip}")
        records.append(f"srv-host={bench.sip_srv_name},{bench.pbx_host},{bench.pbx_port},10,100")
    return records


def _is_address(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True
