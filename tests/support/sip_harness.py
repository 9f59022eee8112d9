"""SIPp peers and a bare Kamailio proxy for gateway tests and bench/gateway_cps.

A ``SipLab`` starts SIPp UAS "PBX cores" and "carriers" on free loopback ports, runs UAC bursts
(``-m`` calls at ``-r`` per second, at most ``-l`` at once, each held ``-d`` ms) and reads back what
SIPp saw: its exit code, ``-trace_stat`` totals, ``-trace_counts`` per-message counters (as the
trial's counts.py printed them) and the lines the scenarios log with ``-trace_logs``. It kills
every process it started when it closes, whatever happened. Scenarios: ``tests/sipp/gateway/``.

    with SipLab(tmp_path) as lab:
        core = lab.uas("uas_pbx.xml")
        proxy = lab.bare_proxy(core.address)
        run = lab.uac(proxy.address, "uac_limit.xml", calls=20, rate=20, hold_ms=500)
        assert run.answered == 20 and run.retransmissions == 0
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from gateway32.kamailio_modules import kamailio_modules_dir
from tests.support.paths import SIPP
from tests.support.ports import LOOPBACK, free_udp_port

SCENARIOS = SIPP / "gateway"
DID = "0312345678"  # the ported number the gateway tests call by default
CALLER = "0901112222"  # the carrier-side caller by default


def udp_bound(ip: str, port: int) -> bool:
    """Whether some process listens on UDP ``ip:port`` (read from /proc, no packet sent)."""
    wanted = f"{socket.inet_aton(ip)[::-1].hex().upper()}:{port:04X}"
    rows = Path("/proc/net/udp").read_text().splitlines()[1:]
    return any(row.split()[1] == wanted for row in rows)


def wait_bound(process: subprocess.Popen[bytes], ip: str, port: int, what: str, log: Path) -> None:
    deadline = time.monotonic() + 10
    while not udp_bound(ip, port):
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not bind {ip}:{port} in 10 s:\n{tail(log)}")
        time.sleep(0.05)


def tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def stop_group(process: subprocess.Popen[bytes], grace: float = 5) -> None:
    """SIGTERM the process group (Kamailio forks workers), SIGKILL what is left after ``grace``."""
    with contextlib.suppress(ProcessLookupError):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=grace)
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


LOG_FIELD = re.compile(r"(\w+)=(.*?)(?= \w+=|$)")


def parse_logged(line: str) -> tuple[str, dict[str, str]]:
    """``final call=3 code=486 reason=Q.850;cause=17`` -> ("final", {"call": "3", ...})."""
    kind, _, rest = line.partition(" ")
    return kind, {key: value.strip() for key, value in LOG_FIELD.findall(rest)}


@dataclass
class SippRun:
    """What one SIPp process saw, read from its trace files once it stopped."""

    scenario: str
    returncode: int
    workdir: Path
    counters: dict[str, int] = field(default_factory=dict)  # "5_200_Recv" -> 32
    stats: dict[str, str] = field(default_factory=dict)  # last -trace_stat row
    max_concurrent: int = 0  # highest CurrentCall of the -trace_stat rows, written each second
    creation_rate: float = 0.0  # calls created per second until the last one (1 s resolution)
    logged: list[str] = field(default_factory=list)

    def steps(self, message: str, kind: str = "Recv") -> list[int]:
        """Counter of every scenario step for ``message`` ("INVITE", "200"...), in order."""
        suffix = f"_{message}_{kind}"
        return [value for name, value in self.counters.items() if name.endswith(suffix)]

    def count(self, message: str, kind: str = "Recv") -> int:
        return sum(self.steps(message, kind))

    def stat(self, name: str) -> int:
        return int(self.stats.get(name, "0") or 0)

    @property
    def answered(self) -> int:
        """200s to the INVITE: the first 200 step of a UAC scenario (a later one answers BYE)."""
        steps = self.steps("200")
        return steps[0] if steps else 0

    @property
    def refused(self) -> int:
        return self.count("486") + self.count("503")

    @property
    def created(self) -> int:
        return self.stat("TotalCallCreated")

    @property
    def successful(self) -> int:
        return self.stat("SuccessfulCall(C)")

    @property
    def failed(self) -> int:
        return self.stat("FailedCall(C)")

    @property
    def retransmissions(self) -> int:
        return self.stat("Retransmissions(C)")

    def events(self, kind: str) -> list[dict[str, str]]:
        """The ``-trace_logs`` lines of one kind ("final", "invite"), as field dicts."""
        parsed = (parse_logged(line) for line in self.logged)
        return [fields for logged_kind, fields in parsed if logged_kind == kind]

    def nonzero(self) -> str:
        """The non-zero per-message counters, as counts.py printed them (for messages)."""
        return ", ".join(f"{name}={value}" for name, value in self.counters.items() if value)

    def describe(self) -> str:
        """Everything a failed assertion should show."""
        errors = "\n".join(tail(path, 1500) for path in sorted(self.workdir.glob("*_errors.log")))
        return (
            f"{self.scenario}: rc={self.returncode} created={self.created} "
            f"ok={self.successful} failed={self.failed} retrans={self.retransmissions}\n"
            f"counters: {self.nonzero()}\nscreen:\n{tail(self.workdir / 'screen.log', 1500)}\n"
            f"errors:\n{errors}"
        )


def read_csv_rows(path: Path) -> list[list[str]]:
    return [line.rstrip("\n").split(";") for line in path.read_text().splitlines() if line.strip()]


def creation_rate(header: list[str], rows: list[list[str]]) -> float:
    """Calls created per second, from the start to the first row that shows them all."""
    created, start, now = (header.index(name) for name in
                           ("TotalCallCreated", "StartTime", "CurrentTime"))  # fmt: skip
    total = int(rows[-1][created] or 0)
    row = next(row for row in rows if int(row[created] or 0) == total)
    # time columns read "2026-12-01<TAB>18:48:50.548649<TAB>1796150930.548649": the epoch is last
    elapsed = float(row[now].split("\t")[-1]) - float(row[start].split("\t")[-1])
    return total / elapsed if elapsed > 0 else 0.0


def collect(scenario: str, returncode: int, workdir: Path) -> SippRun:
    run = SippRun(scenario, returncode, workdir)
    stem = Path(scenario).stem
    for path in workdir.glob(f"{stem}_*_counts.csv"):
        rows = read_csv_rows(path)
        if len(rows) > 1:
            header, last = rows[0], rows[-1]
            run.counters = {
                name: int(value)
                for name, value in zip(header, last, strict=False)
                if name[:1].isdigit() and value.isdigit()
            }
    for path in workdir.glob(f"{stem}_*_.csv"):
        rows = read_csv_rows(path)
        if len(rows) > 1:
            header = rows[0]
            run.stats = dict(zip(header, rows[-1], strict=False))
            if "CurrentCall" in header:
                column = header.index("CurrentCall")
                run.max_concurrent = max(int(row[column] or 0) for row in rows[1:])
            run.creation_rate = creation_rate(header, rows[1:])
    for path in workdir.glob(f"{stem}_*_logs.log"):
        run.logged += [line for line in path.read_text(errors="replace").splitlines() if line]
    return run


@dataclass
class Sipp:
    """One SIPp process, in its own work directory (its trace files land there)."""

    process: subprocess.Popen[bytes]
    scenario: str
    ip: str
    port: int
    workdir: Path

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    def running(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float) -> SippRun:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"SIPp {self.scenario} still running after {timeout} s:\n{self.result().describe()}"
            ) from None
        return self.result()

    def stop(self) -> SippRun:
        """Ends SIPp (SIGTERM: it writes its last counters), then reads what it saw."""
        if self.running():
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.result()

    def vanish(self) -> None:
        """SIGKILL: the peer disappears without a BYE or any other goodbye."""
        if self.running():
            self.process.kill()
        self.process.wait()

    def result(self) -> SippRun:
        code = self.process.returncode if self.process.returncode is not None else -1
        return collect(self.scenario, code, self.workdir)


@dataclass
class BareProxy:
    """A Kamailio proxy with no licence, routing or dialogs: the reference a gateway is held to."""

    process: subprocess.Popen[bytes]
    ip: str
    port: int
    workdir: Path

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid


class SipLab:
    """Starts SIPp peers and bare proxies under ``workdir``; ``close()`` kills all of them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.sipps: list[Sipp] = []
        self.proxies: list[BareProxy] = []

    def __enter__(self) -> SipLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for sipp in self.sipps:
            sipp.vanish()
        for proxy in self.proxies:
            stop_group(proxy.process)

    def _start_sipp(
        self, scenario: str, args: Iterable[str], *, ip: str, port: int, keys: Mapping[str, str]
    ) -> Sipp:
        workdir = self.workdir / f"sipp-{len(self.sipps)}-{Path(scenario).stem}"
        workdir.mkdir(parents=True)
        key_args = [arg for name, value in keys.items() for arg in ("-key", name, value)]
        command = ["sipp", *args, "-sf", str(SCENARIOS / scenario), "-i", ip, "-p", str(port),
                   *key_args, "-nostdin", "-trace_err", "-trace_counts", "-trace_stat",
                   "-trace_logs", "-fd", "1"]  # fmt: skip
        with (workdir / "screen.log").open("wb") as screen:
            process = subprocess.Popen(
                command, cwd=workdir, stdout=screen, stderr=subprocess.STDOUT
            )
        sipp = Sipp(process, scenario, ip, port, workdir)
        self.sipps.append(sipp)
        return sipp

    def uas(
        self,
        scenario: str,
        *,
        ip: str = LOOPBACK,
        port: int | None = None,
        auto_answer: bool = True,
        keys: Mapping[str, str] | None = None,
        extra: Iterable[str] = (),
    ) -> Sipp:
        """A SIPp UAS (a PBX core or a carrier) serving calls until stopped; waits until bound.

        ``auto_answer`` (-aa) answers in-dialog OPTIONS keep-alives, INFO, NOTIFY and UPDATE.
        """
        port = port or free_udp_port(ip)
        args = [*(["-aa"] if auto_answer else []), *extra]
        sipp = self._start_sipp(scenario, args, ip=ip, port=port, keys=keys or {})
        wait_bound(sipp.process, ip, port, f"SIPp {scenario}", sipp.workdir / "screen.log")
        return sipp

    def start_uac(
        self,
        target: str,
        scenario: str,
        *,
        calls: int = 1,
        rate: float = 10,
        limit: int | None = None,
        hold_ms: int = 0,
        service: str = DID,
        caller: str = CALLER,
        ip: str = LOOPBACK,
        port: int | None = None,
        recv_timeout_ms: int | None = None,
        seconds: int = 60,
        keys: Mapping[str, str] | None = None,
        extra: Iterable[str] = (),
    ) -> Sipp:
        """A UAC burst in the background: ``calls`` INVITEs to ``service`` at ``rate`` per second.

        ``limit`` (-l) caps SIPp's own open calls: keep it above a licence under test, or SIPp
        itself hides the limit. SIPp ends by itself after ``seconds`` (-timeout) at the latest.
        """
        args = [target, "-s", service, "-m", str(calls), "-r", str(rate),
                "-l", str(limit or calls), "-d", str(hold_ms), "-aa",
                "-timeout", f"{seconds}s", "-timeout_error", "-max_socket", "4096"]  # fmt: skip
        if recv_timeout_ms is not None:
            args += ["-recv_timeout", str(recv_timeout_ms)]
        all_keys = {"caller": caller, **(keys or {})}
        port = port or free_udp_port(ip)
        return self._start_sipp(scenario, [*args, *extra], ip=ip, port=port, keys=all_keys)

    def uac(self, target: str, scenario: str, *, seconds: int = 60, **options: Any) -> SippRun:
        """A UAC burst run to its end (the options of ``start_uac``); returns what it saw."""
        sipp = self.start_uac(target, scenario, seconds=seconds, **options)
        return sipp.wait(timeout=seconds + 15)

    def bare_proxy(
        self,
        target: str,
        *,
        stateful: bool = True,
        ip: str = LOOPBACK,
        port: int | None = None,
        children: int = 4,
        shm_mb: int = 256,
    ) -> BareProxy:
        """Kamailio relaying every new call to ``target`` (host:port) and in-dialog requests by
        Record-Route: ``tm`` transactions when ``stateful``, plain ``forward()`` otherwise."""
        port = port or free_udp_port(ip)
        workdir = self.workdir / f"kamailio-{len(self.proxies)}"
        workdir.mkdir(parents=True)
        config = workdir / "kamailio.cfg"
        config.write_text(
            BARE_PROXY.render(
                listen=f"{ip}:{port}", target=target, stateful=stateful, children=children,
                rundir=workdir, modules=str(kamailio_modules_dir()),
            )
        )  # fmt: skip
        log = workdir / "kamailio.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                ["kamailio", "-f", str(config), "-DD", "-E", "-m", str(shm_mb), "-M", "16"],
                cwd=workdir, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        proxy = BareProxy(process, ip, port, workdir)
        self.proxies.append(proxy)
        wait_bound(process, ip, port, "kamailio", log)
        return proxy

    def stop_proxy(self, proxy: BareProxy) -> None:
        stop_group(proxy.process)


BARE_PROXY = jinja2.Environment(autoescape=False, keep_trailing_newline=True).from_string(  # noqa: S701 - a Kamailio config, not HTML
    """#!KAMAILIO
# Bare {{ "stateful" if stateful else "stateless" }} proxy rendered by tests/sip_harness.py.
debug=1
log_stderror=yes
children={{ children }}
auto_aliases=no
listen=udp:{{ listen }}
alias="{{ listen }}"
mpath="{{ modules }}"
rundir="{{ rundir }}"

loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
{% if stateful %}
loadmodule "tm.so"
modparam("tm", "fr_timer", 2000)
modparam("tm", "fr_inv_timer", 30000)
{% endif %}

request_route {
    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
    if (has_totag()) {
        if (loose_route()) { route(RELAY); }
        if (is_method("ACK")) {
{%- if stateful %}
            if (t_check_trans()) { t_relay(); }
{%- else %}
            $du = "sip:{{ target }}";
            forward();
{%- endif %}
            exit;
        }
        sl_send_reply("404", "Not here");
        exit;
    }
    if (is_method("OPTIONS") && uri == myself) { sl_send_reply("200", "OK"); exit; }
{%- if stateful %}
    if (is_method("CANCEL")) {
        if (t_check_trans()) { t_relay(); }
        exit;
    }
{%- endif %}
    record_route();
    $du = "sip:{{ target }}";
    route(RELAY);
}

route[RELAY] {
{%- if stateful %}
    if (!t_relay()) { sl_reply_error(); }
{%- else %}
    forward();
{%- endif %}
    exit;
}
"""
)
