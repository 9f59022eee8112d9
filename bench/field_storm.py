"""Field storm: installed phones at customers' sites fetch their configs at once, with Digest.

After a power cut every installed phone of a region fetches its file from its customer's
network: a request without credentials, the 401 Digest challenge, the request with Digest
(qop=auth, a fresh cnonce, the nonce of a challenge). This runs that dance with wrk from one
source address (127.0.0.1, which the server is told is not a staging network: one NAT in
front of every phone) against ``provisioner serve``, and nginx serving the same bytes as static
files in the same run, and prints configs delivered per second, the share of authenticated
requests answered 200, p99 and the ratio. ``--https``: granian's TLS against nginx's.
Targets: configs/s >= 5% of nginx (>= 3% over HTTPS), p99 < 100 ms at
256 connections, >= 99.9% of authenticated requests answered 200, no errors.

wrk computes each Digest response itself: its LuaJIT reaches libcrypto's ``MD5()`` through
the FFI. HA1 (MD5 of user:realm:password) is computed here once per device, as a phone may
store it; everything that depends on the challenge is computed per request.

    python -m bench.field_storm [--devices 10000] [--connections 256] [--seconds 15] [--https]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import re
import shutil
import signal
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import urllib.request
from contextlib import closing
from pathlib import Path

from bench.boot_storm import build_inventory, start_nginx, start_provisioner, storm_arguments
from bench.common import free_port, wait_http, warm_up
from provisioner.app.service import Service
from provisioner.db.models import DeviceState
from provisioner.domain.delivery.digest import REALM
from provisioner.domain.delivery.pipeline import Fetch
from provisioner.domain.inventory.lookup import load_device

# The server's staging networks: not the address wrk fetches from; the bench reads the
# server's metrics (which only a staging network may) from 127.0.0.2.
STAGING = "127.0.0.2/32"
# Before the power cut each phone fetched its file from its office's address, as in the storm:
# the static copies are those fetches (the server keeps what it rendered for them).
FIELD_SOURCE = "127.0.0.1"

# What both scripts print when wrk is done, for run_wrk to read.
REPORT_LUA = r"""
function report(summary, latency)
  io.write(string.format("P99_US %d\n", latency:percentile(99)))
  io.write(string.format("ERRORS %d\n", summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("STATUS_ERRORS %d\n", summary.errors.status))
  io.write(string.format("DURATION_US %d\n", summary.duration))
end
"""

# wrk's Lua (LuaJIT). Each thread keeps a queue of devices waiting for a challenge and one of
# answers to send: a request is an answer when one is ready, else a fresh device's first,
# unauthenticated request. A nonce is not bound to a device, so a 401 answers whichever of
# this thread's devices asked first; each nonce is used once (nc=00000001).
LUA = r"""
local ffi = require("ffi")
ffi.cdef[[unsigned char *MD5(const unsigned char *d, size_t n, unsigned char *md);]]
local crypto = ffi.load("crypto")
local digest = ffi.new("unsigned char[16]")
local function md5(text)
  crypto.MD5(text, #text, digest)
  local hex = {}
  for i = 0, 15 do hex[i + 1] = string.format("%02x", digest[i]) end
  return table.concat(hex)
end

-- FIFO queues as tables with head and tail indices (# is undefined on a table with holes).
local waiting, ready = {}, {}
local waiting_head, waiting_tail, ready_head, ready_tail = 1, 0, 1, 0
local next_device, counter = 0, 0
unauthenticated, authenticated, served, challenged, other = 0, 0, 0, 0, 0
refused_401, locked_429 = 0, 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
threads = {}

function init(args)
  next_device = (id - 1) * 7919
end

function request()
  if ready_head <= ready_tail then
    local answer = ready[ready_head]
    ready[ready_head] = nil
    ready_head = ready_head + 1
    authenticated = authenticated + 1
    return wrk.format("GET", answer[1], {["Authorization"] = answer[2]})
  end
  next_device = next_device + 1
  local device = devices[(next_device % #devices) + 1]
  waiting_tail = waiting_tail + 1
  waiting[waiting_tail] = device
  unauthenticated = unauthenticated + 1
  return wrk.format("GET", device[1])
end

function response(status, headers, body)
  if status == 200 then
    served = served + 1
    return
  end
  local challenge = headers["WWW-Authenticate"] or headers["www-authenticate"]
  local nonce = status == 401 and challenge and challenge:match('nonce="([^"]+)"')
  if not nonce or waiting_head > waiting_tail then
    if status == 401 then
      refused_401 = refused_401 + 1
    elseif status == 429 then
      locked_429 = locked_429 + 1
    else
      other = other + 1
    end
    return
  end
  challenged = challenged + 1
  local device = waiting[waiting_head]
  waiting[waiting_head] = nil
  waiting_head = waiting_head + 1
  counter = counter + 1
  local cnonce = string.format("%08x%08x", counter, math.random(0, 0x7fffffff))
  local response = md5(device[3] .. ":" .. nonce .. ":00000001:" .. cnonce .. ":auth:" .. device[4])
  ready_tail = ready_tail + 1
  ready[ready_tail] = {device[1], string.format(
    'Digest username="%s", realm="REALM", nonce="%s", uri="%s", qop=auth, nc=00000001, '
    .. 'cnonce="%s", response="%s", algorithm=MD5',
    device[2], nonce, device[1], cnonce, response)}
end

function done(summary, latency, requests)
  local totals = {unauthenticated = 0, authenticated = 0, served = 0, challenged = 0, other = 0,
                  refused_401 = 0, locked_429 = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do totals[name] = totals[name] + thread:get(name) end
  end
  for name, value in pairs(totals) do io.write(string.format("COUNT %s %d\n", name, value)) end
  report(summary, latency)
end
"""

STATIC_LUA = r"""
local i = 0
function request()
  i = i + 1
  return wrk.format("GET", devices[(i % #devices) + 1][1])
end
function done(summary, latency, requests)
  io.write(string.format("COUNT served %d\n", summary.requests))
  report(summary, latency)
end
"""


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def lua_device(path: str, user: str, password: str) -> str:
    """One device of the Lua table: path, Digest user, HA1 and HA2."""
    ha1, ha2 = _md5(f"{user}:{REALM}:{password}"), _md5(f"GET:{path}")
    return f'{{"{path}", "{user}", "{ha1}", "{ha2}"}}'


def run_wrk(url: str, script: Path, connections: int, seconds: int) -> dict[str, float]:
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script),
         url],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    )  # fmt: skip
    figures: dict[str, float] = {
        name: float(value) for name, value in re.findall(r"COUNT (\w+) (\d+)", result.stdout)
    }
    for name in ("P99_US", "ERRORS", "STATUS_ERRORS", "DURATION_US"):
        match = re.search(rf"{name} (\d+)", result.stdout)
        assert match, result.stdout + result.stderr
        figures[name] = float(match.group(1))
    figures["configs_per_s"] = figures["served"] / (figures["DURATION_US"] / 1e6)
    # wrk counts every status >= 400 as an error: the challenges are not.
    figures["ERRORS"] += figures["STATUS_ERRORS"] - figures.get("challenged", 0)
    return figures


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (``serve``, granian, its workers)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        proc = Path(f"/proc/{current}")
        try:
            status = (proc / "status").read_text()
            for task in (proc / "task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue  # it ended meanwhile
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(match.group(1)) * 1024 if match else 0
    return total


def refused_credentials(port: int, tls: bool) -> float:
    """How many Digest answers the server refused as wrong or replayed (its own metrics: to
    wrk a refused answer and a challenge are both a 401 with a nonce)."""
    connection: http.client.HTTPConnection = (
        http.client.HTTPSConnection("127.0.0.1", port, context=_insecure(),
                                    source_address=("127.0.0.2", 0))
        if tls else http.client.HTTPConnection("127.0.0.1", port, source_address=("127.0.0.2", 0))
    )  # fmt: skip
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    connection.close()
    pattern = r'provisioner_refusals_total\{[^}]*reason="bad_credentials"[^}]*\} ([\d.e+]+)'
    return sum(float(value) for value in re.findall(pattern, text))


def self_signed(workdir: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-keyout", str(workdir / "key.pem"),
         "-out", str(workdir / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip


def main() -> None:
    parser = storm_arguments(__doc__)
    parser.add_argument("--https", action="store_true", help="granian TLS against nginx TLS")
    parser.add_argument(
        "--cold", action="store_true",
        help="no render kept from before the storm (a first boot after the inventory changed)",
    )  # fmt: skip
    args = parser.parse_args()
    for tool in ("wrk", "nginx", "openssl"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: run `make bench`, which installs it")
    workdir = Path(tempfile.mkdtemp(prefix="field-storm-"))
    devices: list[str] = []

    def field_fetch(service: Service, name: str, mac: str) -> Fetch:
        """The file as the installed device gets it outside the bench (HTTPS Basic: the same
        variant as Digest, without a challenge while building)."""
        with service.db.session() as session:
            device = load_device(session, mac)
            assert device is not None
            assert device.http_user
            assert device.http_password_encrypted
            user, password = device.http_user, service.box.decrypt(device.http_password_encrypted)
        devices.append(lua_device(f"/{name}", user, password))
        return Fetch(name, "https", FIELD_SOURCE, basic=(user, password))

    _db_url, names = build_inventory(
        workdir, args.devices, DeviceState.INSTALLED, field_fetch, staging_networks=(STAGING,)
    )
    if args.cold:
        with closing(sqlite3.connect(_db_url.removeprefix("sqlite:///"))) as database:
            database.execute("DELETE FROM stored_renders")
            database.commit()
        print("--cold: no stored render: every first fetch renders its file")
    table = "devices = {\n" + ",\n".join(devices) + "\n}\n"
    storm = workdir / "field.lua"
    storm.write_text(table + REPORT_LUA + LUA.replace("REALM", REALM))
    static = workdir / "static.lua"
    static.write_text(table + REPORT_LUA + STATIC_LUA)
    if args.https:
        self_signed(workdir)
    scheme = "https" if args.https else "http"
    print(f"source: 127.0.0.1 for every device (one NAT), not a staging network ({STAGING} is)")
    results = {}
    for name in ("nginx", "provisioner"):
        port = free_port()
        if name == "nginx":
            process = start_nginx(workdir, port, tls=args.https)
        else:
            process = start_provisioner(
                workdir, _db_url, port, tls=args.https, staging_networks=STAGING
            )
        try:
            base = f"{scheme}://127.0.0.1:{port}"
            wait_http(base + "/healthz", context=_insecure())
            if name == "nginx":
                with urllib.request.urlopen(f"{base}/{names[0]}", context=_insecure()) as answer:  # noqa: S310
                    assert answer.read() == (workdir / "static" / names[0]).read_bytes()
            script = static if name == "nginx" else storm
            before = tree_rss(process.pid)
            if args.warmup:  # until every worker has started and the rate stops climbing
                rounds = warm_up(
                    lambda base=base, script=script: run_wrk(
                        base, script, args.connections, args.warmup
                    )["configs_per_s"]
                )
                print(f"{name} warm-up, configs/s per {args.warmup} s round: "
                      + ", ".join(f"{rate:.0f}" for rate in rounds), flush=True)  # fmt: skip
            results[name] = run_wrk(base, script, args.connections, args.seconds)
            results[name]["rss_growth_mib"] = (tree_rss(process.pid) - before) / 2**20
            if name == "provisioner":
                results[name]["refused_credentials"] = refused_credentials(port, args.https)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    report(args, results)
    shutil.rmtree(workdir, ignore_errors=True)


def report(args: argparse.Namespace, results: dict[str, dict[str, float]]) -> None:
    nginx, ours = results["nginx"], results["provisioner"]
    scheme = "HTTPS" if args.https else "HTTP"
    print(f"\n{args.devices} devices, {args.connections} connections, {args.seconds} s "
          f"after warm-up rounds of {args.warmup} s, wrk -t2, {scheme}")  # fmt: skip
    print(f"{'server':12} {'configs/s':>10} {'p99 ms':>8} {'errors':>7} {'auth 200':>9}")
    for name, figures in results.items():
        share = ""
        if "authenticated" in figures:
            answered = figures["served"] + figures["refused_credentials"] + figures["locked_429"]
            share = f"{figures['served'] / max(answered, 1):9.3%}"
        print(
            f"{name:12} {figures['configs_per_s']:10.0f} {figures['P99_US'] / 1000:8.1f} "
            f"{figures['ERRORS']:7.0f} {share}"
        )
    print(
        f"requests: {ours['unauthenticated']:.0f} unauthenticated ({ours['challenged']:.0f} "
        f"challenged), {ours['authenticated']:.0f} with Digest, {ours['served']:.0f} served, "
        f"{ours['refused_401']:.0f} refused 401, {ours['locked_429']:.0f} locked out 429, "
        f"{ours['other']:.0f} other answers; the server refused "
        f"{ours['refused_credentials']:.0f} Digest answers as wrong or replayed"
    )
    print(
        f"RSS of serve and its workers: {ours['rss_growth_mib']:+.0f} MiB after the storm "
        "(target within 150 MiB of before)"
    )
    target = 0.03 if args.https else 0.05
    print(
        f"ratio provisioner/nginx configs/s: {ours['configs_per_s'] / nginx['configs_per_s']:.2%} "
        f"(target >= {target:.0%}), p99 {ours['P99_US'] / 1000:.1f} ms (target < 100)"
    )


def _insecure() -> ssl.SSLContext:
    """Our own self-signed certificate: the bench checks the bytes, not who signed them."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


if __name__ == "__main__":
    main()
