"""``gateway32 run``: one gateway per state directory and SIP address; Kamailio runs under it.

The supervisor refuses to start without a valid licence or when the SIP port is taken (two
engines on one port would each count their own channels). While running it turns Kamailio's CDR
events into durable records, applies a new config.json when one appears (a refused licence
leaves the running one in force) and restarts a Kamailio that died.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import logging
import os
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from gateway32.cdr import CdrFile, record_from_line
from gateway32.cdr_upload import upload_cdrs
from gateway32.config import ConfigError, GatewayConfig, load_config
from gateway32.kamailio import (
    apply_registration,
    push_state,
    registration_state,
    render,
    run_dir,
)
from gateway32.kamailio_modules import ModulesNotFound
from gateway32.licence import LicenceError
from gateway32.media import MediaRelayError, Rtpengine, end_calls_without_media
from gateway32.provisioning import fetch_config
from gateway32.rpc import KamailioRPC, RPCError
from gateway32.settings import Settings

log = logging.getLogger("gateway32")


class StartError(RuntimeError):
    """The gateway cannot start; the message says why and what to do."""


def load(settings: Settings) -> GatewayConfig:
    """config.json with its licence verified, or StartError naming the problem."""
    try:
        return load_config(settings.config_file, Path(settings.issuer_key), settings.mac or None)
    except (ConfigError, LicenceError) as exc:
        raise StartError(str(exc)) from exc


def status_file(settings: Settings) -> Path:
    return run_dir(settings) / "status.json"


def trunk_file(settings: Settings) -> Path:
    """The last refusal of the trunk registration, as Kamailio logged it (none: no file)."""
    return run_dir(settings) / "trunk.json"


# uac_reg's own words when a registration fails (Kamailio 5.6 uac_reg.c): the account's
# l_uuid is its user name, never the password
_REGISTER_FAILED = (
    (re.compile(r"authentication failed for <([^>]*)>"),
     "the carrier refused the credentials (wrong user or password)"),
    (re.compile(r"got sip response (\d{3}) while registering \[([^\]]*)\]"),
     "the carrier answered {0}"),
    (re.compile(r"failed to send request for \[([^\]]*)\]"), "the REGISTER could not be sent"),
)  # fmt: skip


def last_registration_error(settings: Settings) -> str | None:
    """The last refusal uac_reg logged for the current account, if any."""
    try:
        return str(json.loads(trunk_file(settings).read_text())["error"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        return None


def registration_failure(line: str) -> str | None:
    """What went wrong, if ``line`` is uac_reg reporting a failed registration."""
    for pattern, reason in _REGISTER_FAILED:
        found = pattern.search(line)
        if found:
            return reason.format(*found.groups())
    return None


def pid_file(settings: Settings) -> Path:
    return settings.state_path / "gateway32.pid"


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends SIGTERM when the supervisor goes away."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def check_port_free(host: str, port: int) -> None:
    """Refuse a SIP address another process (or another gateway) already listens on."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise StartError(
                f"SIP address {host}:{port} is already in use ({exc.strerror}): another gateway or "
                "SIP server listens there; stop it or set GATEWAY32_SIP"
            ) from exc


@dataclass
class Supervisor:
    settings: Settings
    config: GatewayConfig | None = None
    kamailio: subprocess.Popen[bytes] | None = None
    rtpengine: subprocess.Popen[bytes] | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    reload_requested: threading.Event = field(default_factory=threading.Event)
    _lock_handle: IO[str] | None = None
    _reader: threading.Thread | None = None
    _seq: int = 0
    _config_stamp: tuple[int, int, int] | None = None
    _next_sweep: float = 0.0

    @property
    def rpc(self) -> KamailioRPC:
        return KamailioRPC(self.settings.rpc_socket)

    def start(self) -> None:
        state = self.settings.state_path
        state.mkdir(parents=True, exist_ok=True)
        self._take_instance_lock()
        check_port_free(self.settings.sip_host, self.settings.sip_port)
        if self.settings.provisioner_url:  # a fresh box boots from the provisioner
            log.info("provisioner: %s", fetch_config(self.settings).message)
        self._config_stamp = self._stamp()
        self.config = load(self.settings)
        try:
            cfg = render(self.settings, self.config)
        except ModulesNotFound as exc:
            raise StartError(f"{exc}, or set GATEWAY32_KAMAILIO_MODULES") from exc
        with contextlib.suppress(FileNotFoundError):
            self.settings.rpc_socket.unlink()
        if self.settings.media_relay:
            self._start_rtpengine()
        self._start_kamailio(cfg)
        self._write_status(refused=None)
        if self.settings.provisioner_url:
            threading.Thread(
                target=self._talk_to_provisioner, name="provisioner", daemon=True
            ).start()
        log.info(
            "gateway32 serving on %s: licence %s, %d channels",
            self.settings.sip,
            self.config.licence.serial,
            self.config.licence.channels,
        )

    def _take_instance_lock(self) -> None:
        handle = pid_file(self.settings).open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise StartError(
                f"another gateway32 runs with state directory {self.settings.state_dir}"
            ) from exc
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock_handle = handle

    def _start_rtpengine(self) -> None:
        low, _, high = self.settings.rtp_ports.partition("-")
        command = [
            self.settings.rtpengine, f"--interface={self.settings.sip_host}",
            f"--listen-ng={self.settings.rtpengine_ng}", "--table=-1",
            f"--port-min={low}", f"--port-max={high}", f"--timeout={self.settings.media_timeout}",
            "--foreground", "--log-stderr", "--log-level=5",
            f"--pidfile={run_dir(self.settings) / 'rtpengine.pid'}",
        ]  # fmt: skip
        log_file = (run_dir(self.settings) / "rtpengine.log").open("ab")
        self.rtpengine = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
        log_file.close()
        try:  # Kamailio gives up on a relay that does not answer its first ping
            Rtpengine(self.settings.rtpengine_ng).wait_ready(10)
        except MediaRelayError as exc:
            raise StartError(f"rtpengine did not start: {exc}; see rtpengine.log") from exc

    def _start_kamailio(self, cfg: Path) -> None:
        command = [
            self.settings.kamailio, "-f", str(cfg), "-DD", "-E", "-m", str(self.settings.shm_mb),
            "-M", "16", "-P", str(run_dir(self.settings) / "kamailio.pid"),
        ]  # fmt: skip
        self.kamailio = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_die_with_parent
        )
        self._reader = threading.Thread(
            target=self._read_events, args=(self.kamailio,), name="kamailio-events", daemon=True
        )
        self._reader.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.kamailio.poll() is not None:
                self._reader.join(timeout=5)
                raise StartError(
                    f"Kamailio exited at start (code {self.kamailio.returncode}); "
                    f"see {run_dir(self.settings) / 'kamailio.log'}"
                )
            try:
                self.rpc.call("core.version")
            except RPCError:
                time.sleep(0.1)
                continue
            self._register_trunk()
            return
        raise StartError("Kamailio did not answer JSON-RPC within 20 s")

    def _read_events(self, process: subprocess.Popen[bytes]) -> None:
        """Kamailio's stderr: CDR events to cdr.jsonl (one fsync per read), the rest to its log."""
        assert process.stderr is not None
        fd = process.stderr.fileno()
        cdrs = CdrFile(self.settings.cdr_file)
        pending = b""
        with (run_dir(self.settings) / "kamailio.log").open("ab") as kamailio_log:
            while chunk := os.read(fd, 1 << 16):
                *lines, pending = (pending + chunk).split(b"\n")
                batch, other = [], []
                for raw in lines:
                    text = raw.decode("utf-8", "replace")
                    record = record_from_line(text)
                    if record is None:
                        other.append(raw + b"\n")
                        if (failure := registration_failure(text)) is not None:
                            self._note_registration_failure(failure)
                    else:
                        batch.append(record)
                cdrs.append(batch)
                if other:
                    kamailio_log.write(b"".join(other))
                    kamailio_log.flush()
        cdrs.close()

    def _note_registration_failure(self, reason: str) -> None:
        log.warning("trunk registration failed: %s", reason)
        _write_json(trunk_file(self.settings), {"error": reason, "at": time.time()})

    def _trunk_state(self) -> str | None:
        """How the trunk registration fares, in words for the provisioner (None: not needed)."""
        config = self.config
        if config is None or config.registration is None:
            return None
        try:
            if registration_state(self.rpc, config.registration.user)["registered"]:
                return "registered"
        except RPCError:
            return "not registered: Kamailio does not answer"
        return f"not registered: {last_registration_error(self.settings) or 'no answer yet'}"

    def _register_trunk(self) -> None:
        """A Kamailio just started knows no trunk account: hand it over (it then registers)."""
        assert self.config is not None
        if self.config.registration is None:
            return
        trunk_file(self.settings).unlink(missing_ok=True)
        try:
            apply_registration(self.rpc, self.settings, None, self.config.registration)
        except RPCError as exc:
            raise StartError(f"Kamailio did not take the trunk account: {exc}") from exc
        log.info("trunk: registering as %s at %s", self.config.registration.user,
                 self.config.registration.domain)  # fmt: skip

    def serve(self) -> int:
        """Until SIGTERM/SIGINT: watch Kamailio and config.json. The exit status."""
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        signal.signal(signal.SIGHUP, lambda *_: self.reload_requested.set())
        try:
            while not self.stopping.is_set():
                self.reload_requested.wait(self.settings.config_poll_seconds)
                if self.stopping.is_set():
                    break
                if self.kamailio is not None and self.kamailio.poll() is not None:
                    log.error("Kamailio exited (code %s): restarting", self.kamailio.returncode)
                    assert self.config is not None
                    self._start_kamailio(render(self.settings, self.config))
                self._sweep_media()
                stamp = self._stamp()
                if self.reload_requested.is_set() or stamp != self._config_stamp:
                    self.reload_requested.clear()
                    self._config_stamp = stamp
                    self.reload()
        finally:
            self.stop()
        return 0

    def _talk_to_provisioner(self) -> None:
        """Fetch config.json and upload new CDRs now and then; failures are logged, never fatal."""
        next_fetch = time.monotonic() + self.settings.provisioner_poll_seconds
        next_upload = time.monotonic()
        while not self.stopping.wait(1.0):
            now = time.monotonic()
            try:
                if now >= next_fetch:
                    next_fetch = now + self.settings.provisioner_poll_seconds
                    result = fetch_config(self.settings, trunk_state=self._trunk_state())
                    if not result.ok or result.updated:
                        log.info("provisioner: %s", result.message)
                if now >= next_upload:
                    next_upload = now + self.settings.cdr_upload_seconds
                    uploaded = upload_cdrs(self.settings)
                    if not uploaded.ok or uploaded.accepted:
                        log.info("CDR upload: %s", uploaded.message)
            except Exception:  # a bug here must not stop the calls: log it, try again later
                log.exception("talking to the provisioner failed")

    def _sweep_media(self) -> None:
        """Every few seconds: hang up answered calls whose media rtpengine timed out."""
        if not self.settings.media_relay or time.monotonic() < self._next_sweep:
            return
        self._next_sweep = time.monotonic() + max(1.0, self.settings.media_timeout / 4)
        try:
            end_calls_without_media(self.rpc, Rtpengine(self.settings.rtpengine_ng), grace=5)
        except (RPCError, MediaRelayError) as exc:
            log.warning("media sweep skipped: %s", exc)

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            info = self.settings.config_file.stat()
        except FileNotFoundError:
            return None
        return (info.st_ino, info.st_mtime_ns, info.st_size)

    def reload(self) -> None:
        """Apply config.json; a refused one leaves the running configuration in force."""
        assert self.config is not None
        try:
            new = load(self.settings)
        except StartError as exc:
            log.error("new configuration refused, the running one stays: %s", exc)
            self._write_status(refused=str(exc))
            return
        if new.registration != self.config.registration:
            trunk_file(self.settings).unlink(missing_ok=True)  # a new account: no failure yet
        try:
            push_state(self.rpc, self.settings, self.config, new)
        except RPCError as exc:
            log.error("could not apply the new configuration: %s", exc)
            self._write_status(refused=f"Kamailio did not take it: {exc}")
            return
        self.config = new
        log.info("configuration applied: licence %s, %d channels", new.licence.serial,
                 new.licence.channels)  # fmt: skip
        self._write_status(refused=None)

    def _write_status(self, refused: str | None) -> None:
        assert self.config is not None
        self._seq += 1
        licence = self.config.licence
        registration = self.config.registration
        status = {
            "seq": self._seq,
            "pid": os.getpid(),
            "sip": self.settings.sip,
            "licence": licence.terms(),
            "refused": refused,
            # who the trunk knows us as; the password stays in config.json and Kamailio
            "registration": None if registration is None else {
                "user": registration.user,
                "registrar": registration.domain,
            },
        }  # fmt: skip
        _write_json(status_file(self.settings), status)

    def stop(self) -> None:
        self._hang_up_all()
        for process in (self.kamailio, self.rtpengine):
            if process is not None and process.poll() is None:
                process.terminate()
        for process in (self.kamailio, self.rtpengine):
            if process is None:
                continue
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=10)
        if self._seq:  # we wrote it: `status` and `reload` must now say "not running"
            status_file(self.settings).unlink(missing_ok=True)
        if self._lock_handle is not None:
            self._lock_handle.close()

    def _hang_up_all(self, seconds: float = 3.0) -> None:
        """Before Kamailio stops: BYE both ways for every answered call, each gets its CDR."""
        if self.kamailio is None or self.kamailio.poll() is not None:
            return
        try:
            calls = self.rpc.answered_calls()
            for dialog in calls:
                with contextlib.suppress(RPCError):  # it may have ended by itself meanwhile
                    self.rpc.hang_up(dialog)
            deadline = time.monotonic() + seconds
            while calls and self.rpc.channels_in_use() and time.monotonic() < deadline:
                time.sleep(0.1)
        except RPCError as exc:
            log.warning("could not hang up the calls in progress: %s", exc)
        else:
            if calls:
                log.info("stopping: hung up %d calls in progress", len(calls))


def _write_json(path: Path, value: object) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(value, indent=2) + "\n")
    os.replace(temporary, path)
