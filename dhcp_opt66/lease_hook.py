"""dnsmasq's ``--dhcp-script``: each lease add/old/del becomes ``POST /api/v1/dhcp/leases``.

dnsmasq runs the script in its helper process, one event at a time, so it must be quick and must
never fail: a short timeout, one line on stderr when the provisioner refuses or is away, and
exit status 0 always. Only the standard library, so Python starts it in tens of milliseconds.
The API URL and the bearer token come from a 0600 JSON file the bench writes in its state dir.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

ACTIONS = ("add", "old", "del")
TIMEOUT = 3.0
PATH = "/api/v1/dhcp/leases"


def event_body(action: str, mac: str, ip: str, hostname: str | None) -> dict[str, str]:
    body = {"action": action, "mac": mac, "ip": ip}
    hostname = hostname or os.environ.get("DNSMASQ_SUPPLIED_HOSTNAME")
    vendor_class = os.environ.get("DNSMASQ_VENDOR_CLASS")
    if hostname:
        body["hostname"] = hostname
    if vendor_class:
        body["vendor_class"] = vendor_class
    return body


def post(api_url: str, token: str, body: dict[str, str], timeout: float = TIMEOUT) -> str:
    """What happened, in one line (never raises)."""
    request = urllib.request.Request(  # noqa: S310 - the URL was checked: http(s) only
        api_url + PATH,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return f"lease {body['action']} {body['mac']}: recorded ({response.status})"
    except urllib.error.HTTPError as exc:
        try:
            reason = json.loads(exc.read() or b"{}").get("error", "")
        except ValueError:
            reason = ""
        return f"lease {body['action']} {body['mac']}: provisioner refused ({exc.code}) {reason}"
    except (OSError, ValueError) as exc:
        return f"lease {body['action']} {body['mac']}: provisioner not reached ({exc})"


def run(config: Path, args: list[str]) -> int:
    if len(args) < 3 or args[0] not in ACTIONS:
        return 0  # init, tftp, arp events: nothing to tell
    action, mac, ip = args[:3]
    hostname = args[3] if len(args) > 3 else None
    try:
        settings = json.loads(config.read_text(encoding="utf-8"))
        api_url, token = settings["api_url"], settings["token"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"lease {action} {mac}: no usable hook settings in {config} ({exc})", file=sys.stderr)
        return 0
    print(post(api_url, token, event_body(action, mac, ip, hostname)), file=sys.stderr)
    return 0


def main() -> None:
    if len(sys.argv) < 2:
        print("usage: python -m dhcp_opt66.lease_hook CONFIG ACTION MAC IP [HOSTNAME]")
        sys.exit(0)
    sys.exit(run(Path(sys.argv[1]), sys.argv[2:]))


if __name__ == "__main__":
    main()
