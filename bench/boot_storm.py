"""Boot storm: 10,000 distinct devices fetch their configs at once, after a power cut.

Runs wrk against ``provisioner serve`` and against nginx serving the same bytes as static
files, in the same run on the same machine, and prints requests/s, p99 latency and the ratio.
Target: at least 15% of nginx's requests/s (moonshot 30%) with p99 under 100 ms at 256
connections.

It measures the steady state of the bench path: the devices are staged before the run, so the
first fetch of each does not stage it during the storm (a staging is an inventory change, and
what the storm would then measure is cache invalidation, not delivery), and the storm is
repeated as a warm-up until its rate stops climbing (every worker has cached every file).

    python -m bench.boot_storm [--devices 10000] [--connections 256] [--seconds 15]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import update

from bench.common import free_port, wait_http, warm_up
from provisioner.app.service import Service, open_service
from provisioner.db.models import Device, DeviceState
from provisioner.domain.delivery.pipeline import Fetch, Outcome
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.settings import Settings
from provisioner.vendors import find_model, vendor

KEY = "yJ8k2o3m1bKk0m5sRkq3cJ2y3wV0Zp8g9sYg7bN4x1A="
MODELS = ("GXP1628", "GXP2170", "GRP2614", "HT802", "HT814", "KX-HDV230", "KX-UT133")


def build_inventory(
    workdir: Path,
    devices: int,
    state: DeviceState,
    fetch: Callable[[Service, str, str], Fetch],
    staging_networks: tuple[str, ...] = Settings.staging_networks,
) -> tuple[str, list[str]]:
    """A sheet of ``devices`` one-line devices, imported and moved to ``state``; the file of
    each, as ``fetch(service, name, mac)`` gets it (as each device got it before the storm),
    written for nginx. Returns the DB URL and the file names."""
    rows = []
    for index in range(devices):
        model = MODELS[index % len(MODELS)]
        rows.append(
            {
                "tenant": f"tenant-{index // 50:04d}",
                "extension": f"{1000 + index % 50}",
                "direct_number": "",
                "display_name": f"Bench {index}",
                "mac": f"{0x02B000000000 + index:012x}",  # locally administered, unicast
                "model": model,
                "port": "1",
            }
        )
    url = f"sqlite:///{workdir / 'bench.db'}"
    service = open_service(Settings(db=url, secret_key=KEY, staging_networks=staging_networks))
    started = time.perf_counter()
    with service.db.session() as session:
        report = import_sheet(session, service.box, sheet_rows(rows))
    print(f"import of {devices} rows: {time.perf_counter() - started:.1f} s", flush=True)
    assert report.ok, report.errors[:3]
    with service.db.session() as session:  # set up at once, not through the lifecycle
        session.execute(update(Device).values(state=state))
    static = workdir / "static"
    static.mkdir()
    names = []
    service.provisioner.timeline = None
    for row in rows:
        model = find_model(row["model"])
        assert model is not None
        name = vendor(model.vendor).device_filename(row["mac"], model)
        delivery = service.provisioner.deliver(fetch(service, name, row["mac"]))
        assert delivery.outcome is Outcome.SERVED, (name, delivery.reason)
        (static / name).write_bytes(delivery.body)
        names.append(name)
    service.close()
    return url, names


def bench_fetch(_service: Service, name: str, _mac: str) -> Fetch:
    """The file as a device on the bench (loopback, a staging network) gets it."""
    return Fetch(name, "http", "127.0.0.1")


def wrk_script(workdir: Path, names: list[str]) -> Path:
    """A wrk Lua script that asks for a different device's file on every request."""
    paths = ",\n".join(f'"/{name}"' for name in names)
    script = workdir / "storm.lua"
    script.write_text(
        f"local paths = {{\n{paths}\n}}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i + 1\n"
        "  return wrk.format('GET', paths[(i % #paths) + 1])\n"
        "end\n"
        "done = function(summary, latency, requests)\n"
        "  io.write(string.format('P99_US %d\\n', latency:percentile(99)))\n"
        "  io.write(string.format('ERRORS %d\\n', summary.errors.status + summary.errors.connect"
        " + summary.errors.read + summary.errors.write + summary.errors.timeout))\n"
        "end\n"
    )
    return script


def run_wrk(url: str, script: Path, connections: int, seconds: int) -> tuple[float, float, int]:
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script),
         url],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    )  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))  # type: ignore[union-attr]
    p99 = int(re.search(r"P99_US (\d+)", result.stdout).group(1)) / 1000  # type: ignore[union-attr]
    errors = int(re.search(r"ERRORS (\d+)", result.stdout).group(1))  # type: ignore[union-attr]
    return rps, p99, errors


def start_nginx(workdir: Path, port: int, tls: bool = False) -> subprocess.Popen[bytes]:
    conf = workdir / "nginx.conf"
    listen = f"127.0.0.1:{port} backlog=4096"
    if tls:
        listen += f" ssl;\n        ssl_certificate {workdir}/cert.pem;"
        listen += f"\n        ssl_certificate_key {workdir}/key.pem"
    conf.write_text(
        f"""
worker_processes 2;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    default_type application/octet-stream;
    server {{
        listen {listen};
        root {workdir}/static;
    }}
}}
"""
    )
    user = ["-g", "user root;"] if os.geteuid() == 0 else []
    return subprocess.Popen(["nginx", "-c", str(conf), "-p", str(workdir), *user])


def start_provisioner(
    workdir: Path, db_url: str, port: int, tls: bool = False, **settings: str
) -> subprocess.Popen[bytes]:
    """``provisioner serve`` on ``port`` (HTTPS with workdir's cert.pem when ``tls``), with
    ``settings`` as PROVISIONER_* environment variables."""
    env = {**os.environ, "PROVISIONER_DB": db_url, "PROVISIONER_SECRET_KEY": KEY}
    # The files nginx serves were rendered with the default base URL; without this, serve
    # would derive it from its own port and every body would differ by that.
    env["PROVISIONER_HTTP_BASE"] = Settings().http_base
    env.update({f"PROVISIONER_{name.upper()}": value for name, value in settings.items()})
    address = f"127.0.0.1:{port}"
    listen = ["--http", address]
    if tls:
        listen = ["--no-http", "--https", address, "--cert", str(workdir / "cert.pem"),
                  "--key", str(workdir / "key.pem")]  # fmt: skip
    log = (workdir / "provisioner.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "provisioner", "serve", "--no-tftp", *listen],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def storm_arguments(doc: str | None) -> argparse.ArgumentParser:
    """The options every storm takes, described by the first line of its docstring."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument(
        "--warmup", type=int, default=3,
        help="seconds of each warm-up round (the same storm, not counted), repeated until "
        "the rate stops climbing: every worker has started and cached the files",
    )  # fmt: skip
    return parser


def main() -> None:
    args = storm_arguments(__doc__).parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: run `make bench`, which installs it")
    workdir = Path(tempfile.mkdtemp(prefix="boot-storm-"))
    db_url, names = build_inventory(workdir, args.devices, DeviceState.STAGED, bench_fetch)
    print("source: 127.0.0.1, a staging network (the bench path); devices staged before the run")
    script = wrk_script(workdir, names)
    results = {}
    for name, start in (("nginx", start_nginx), ("provisioner", None)):
        port = free_port()
        process = start_nginx(workdir, port) if start else start_provisioner(workdir, db_url, port)
        try:
            probe = f"http://127.0.0.1:{port}/{names[0]}"
            wait_http(probe)
            with urllib.request.urlopen(probe) as response:
                assert response.read() == (workdir / "static" / names[0]).read_bytes()
            if args.warmup:
                url = f"http://127.0.0.1:{port}"
                rounds = warm_up(
                    lambda url=url: run_wrk(url, script, args.connections, args.warmup)[0]
                )
                print(f"{name} warm-up, req/s per {args.warmup} s round: "
                      + ", ".join(f"{rate:.0f}" for rate in rounds), flush=True)  # fmt: skip
            results[name] = run_wrk(
                f"http://127.0.0.1:{port}", script, args.connections, args.seconds
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    print(
        f"\n{args.devices} devices, {args.connections} connections, {args.seconds} s "
        f"after warm-up rounds of {args.warmup} s, wrk -t2"
    )
    print(f"{'server':12} {'req/s':>10} {'p99 ms':>8} {'errors':>7}")
    for name, (rps, p99, errors) in results.items():
        print(f"{name:12} {rps:10.0f} {p99:8.1f} {errors:7d}")
    ratio = results["provisioner"][0] / results["nginx"][0]
    p99 = results["provisioner"][1]
    print(f"ratio provisioner/nginx: {ratio:.1%} (target >= 15%), p99 {p99:.1f} ms (target < 100)")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
