"""The gateway's local settings: ``GATEWAY32_*`` environment variables over an optional TOML file.

These are what the box itself knows before it has talked to the provisioner: where it keeps its
state, where it listens, whom it trusts to sign licences. Everything the provisioner decides
(licence, numbers, trunk, cores) arrives later in ``<state_dir>/config.json``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "GATEWAY32_"


class SettingsError(ValueError):
    """A setting the gateway cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    state_dir: str = "/var/lib/gateway32"
    sip: str = "127.0.0.1:5060"  # the one SIP listener (UDP), carrier and PBX core side alike
    rpc: str = ""  # Kamailio JSON-RPC: a unix datagram socket path; empty: <state_dir>/rpc.sock
    issuer_key: str = "/etc/gateway32/issuer.pem"  # the provisioner's licence-signing public key
    mac: str = ""  # this gateway's MAC (12 lower-case hex); a licence for another is refused
    provisioner_url: str = ""
    http_user: str = ""
    http_password: str = ""
    ca_file: str = ""
    kamailio: str = "/usr/sbin/kamailio"
    kamailio_modules: str = ""  # Kamailio's module directory; empty: asked of `kamailio -I`
    rtpengine: str = "/usr/bin/rtpengine"
    media_relay: bool = True  # relay RTP through rtpengine; tests may switch it off
    rtpengine_ng: str = "127.0.0.1:22222"  # rtpengine's control (ng) port, loopback only
    rtp_ports: str = "30000-30999"
    media_timeout: int = 60  # seconds without RTP before rtpengine gives the call up
    children: int = 4  # Kamailio UDP worker processes
    shm_mb: int = 256  # Kamailio shared memory (a 2000-call/s burst ran out of 256 MB in the trial)
    core_ping_interval: int = 5  # seconds between OPTIONS health checks of the PBX cores
    keepalive_interval: int = 30  # in-dialog OPTIONS to both sides (Kamailio's minimum is 30)
    failover_timeout_ms: int = 2000  # no reply from a core in this long: try the next one
    register_timer: int = 10  # seconds between uac_reg's checks of the trunk registration
    register_retry: int = 60  # a refused or unanswered REGISTER is tried again after this long
    config_poll_seconds: float = 2.0  # how often `run` looks for a new config.json
    provisioner_poll_seconds: float = 60.0  # how often `run` fetches config.json (provisioner_url)
    cdr_upload_seconds: float = 30.0  # how often `run` uploads new CDRs (provisioner_url)

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir)

    @property
    def config_file(self) -> Path:
        return self.state_path / "config.json"

    @property
    def cdr_file(self) -> Path:
        return self.state_path / "cdr.jsonl"

    @property
    def rpc_socket(self) -> Path:
        return Path(self.rpc) if self.rpc else self.state_path / "rpc.sock"

    @property
    def sip_host(self) -> str:
        return self.sip.rsplit(":", 1)[0]

    @property
    def sip_port(self) -> int:
        return int(self.sip.rsplit(":", 1)[1])

    @classmethod
    def load(cls, toml_path: Path | None = None) -> Settings:
        """Defaults, then the TOML file, then the environment."""
        values: dict[str, object] = {}
        if toml_path is not None:
            try:
                with toml_path.open("rb") as handle:
                    values.update(tomllib.load(handle))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise SettingsError(f"settings file {toml_path}: {exc}") from exc
        known = {f.name: f for f in fields(cls)}
        for name in known:
            raw = os.environ.get(ENV_PREFIX + name.upper())
            if raw is not None:
                values[name] = raw
        unknown = set(values) - set(known)
        if unknown:
            raise SettingsError(f"unknown settings: {', '.join(sorted(unknown))}")
        defaults = cls()
        # Any: _coerce has checked each value against its field's type, at run time.
        coerced: dict[str, Any] = {
            name: _coerce(name, value, type(getattr(defaults, name)))
            for name, value in values.items()
        }
        return cls(**coerced).validate()

    def validate(self) -> Settings:
        host, _, port = self.sip.rpartition(":")
        try:
            ipaddress.ip_address(host)
            if not 0 < int(port) < 65536:
                raise ValueError(port)
        except ValueError as exc:
            raise SettingsError(
                f"GATEWAY32_SIP must be IP:port (an address of this machine), not {self.sip!r}"
            ) from exc
        if len(str(self.rpc_socket)) > 100:
            raise SettingsError(
                f"the JSON-RPC socket path {self.rpc_socket} is longer than a unix socket "
                "allows: set GATEWAY32_RPC or a shorter GATEWAY32_STATE_DIR"
            )
        low, _, high = self.rtp_ports.partition("-")
        if not (low.isdigit() and high.isdigit() and 1024 <= int(low) < int(high) < 65536):
            raise SettingsError(f"GATEWAY32_RTP_PORTS must be LOW-HIGH, not {self.rtp_ports!r}")
        if self.keepalive_interval < 30:
            raise SettingsError(
                "GATEWAY32_KEEPALIVE_INTERVAL below 30 s is not allowed by Kamailio"
            )
        if self.register_timer < 1 or self.register_retry < self.register_timer:
            raise SettingsError(
                "GATEWAY32_REGISTER_RETRY must be at least GATEWAY32_REGISTER_TIMER (>= 1 s)"
            )
        return self

    @property
    def uac_retry_interval(self) -> int:
        """uac_reg's reg_retry_interval for a back-off of at least ``register_retry``: uac_reg
        tries again once the interval is within reg_timer_interval + 3 s of ending (uac_reg.c)."""
        return self.register_retry + self.register_timer + 3


def _coerce(name: str, value: object, kind: type) -> object:
    if kind is bool and isinstance(value, str):
        if value.lower() not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
            raise SettingsError(f"GATEWAY32_{name.upper()} must be true or false, not {value!r}")
        return value.lower() in {"1", "true", "yes", "on"}
    if kind in (int, float) and not isinstance(value, bool):
        return _number(name, value, kind)
    if not isinstance(value, kind):
        raise SettingsError(f"GATEWAY32_{name.upper()} must be a {kind.__name__}, not {value!r}")
    return value


def _number(name: str, value: object, kind: type[int] | type[float]) -> int | float:
    """A string from the environment or a number from the TOML file, as the field's type."""
    if isinstance(value, str | int | float):
        with contextlib.suppress(ValueError):
            return kind(value)
    raise SettingsError(f"GATEWAY32_{name.upper()} must be a number, not {value!r}")
