"""Service settings: ``PROVISIONER_*`` environment variables over an optional TOML file.

Every setting has a default that makes ``provisioner serve`` work on loopback with a SQLite
file in the working directory, which is what the demo and the tests start from.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "PROVISIONER_"
SRV_PREFIX = "srv:"  # PROVISIONER_PBX_CORE=srv:DOMAIN: devices look up _sip._udp.DOMAIN
CONFIG_ENV = "PROVISIONER_CONFIG"  # path of the TOML settings file, if any
LOG_FORMATS = ("text", "json")


class SettingsError(ValueError):
    """A setting has a value the service cannot use (names the variable)."""


@dataclass(frozen=True)
class Settings:
    db: str = "sqlite:///provisioner.db"
    secret_key: str = ""  # urlsafe-base64 32-byte key; empty: a key file beside the database
    secret_key_file: str = "secret.key"  # noqa: S105 - a file name, not a secret
    staging_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    # Load balancers whose X-Forwarded-For is believed (none by default: the peer address is
    # the client). Behind one, every device would otherwise share the balancer's address.
    trusted_proxies: tuple[str, ...] = ()
    # Where devices register: ``host[:port]``, several comma separated (the first is the
    # primary, the next the failover core the files name), or ``srv:DOMAIN`` for devices to
    # resolve ``_sip._udp.DOMAIN`` SRV records themselves (docs/vendors.md §7).
    pbx_core: str = "127.0.0.1:5060"
    http_base: str = "http://127.0.0.1:8080"  # how devices reach our HTTP front door
    tftp_host: str = "127.0.0.1"
    ntp_server: str = "ntp.nict.jp"
    # Seconds; short enough that a phone whose NAT mapping changed anyway (a router reboot)
    # is reachable again within minutes (docs/vendors.md §7).
    registration_expiry: int = 600
    nat_keepalive: int = 15  # seconds between a device's NAT keep-alives (routers: 30-120 s)
    device_sip_port: int = 5060  # where devices listen for SIP (the resync NOTIFY goes there)
    rate_capacity: int = 300  # per source: what an office full of phones needs after a power cut
    rate_refill: float = 1.0  # tokens per second
    lockout_seconds: int = 600
    http_workers: int = max(2, os.cpu_count() or 1)  # HTTP worker processes
    http_threads: int = 4  # threads per worker that run the application
    # Rendered files each worker keeps in memory as sent (files are 1-17 KB), and compressed
    # (about a third of that: 10,000 devices take about 15 MiB); past the second bound the
    # oldest come back from the render store, one query each (domain.delivery.render_cache).
    # 12 MiB as sent holds a 2,000-device storm whole and keeps two workers' growth after a
    # 10,000-device storm within the 150 MiB of bench.field_storm's budget.
    file_cache_mib: int = 12
    packed_cache_mib: int = 32
    # Devices each HTTP worker remembers before serving: those of the most recent fetches
    # (about 2 KB each), so a storm after a restart finds them without a query.
    prime_devices: int = 20_000
    # Seconds a request body may take to arrive before 408: it is read before a thread is
    # taken, so a slow one costs memory, never service (provisioner.web.front).
    body_seconds: float = 30.0
    firmware_dir: str = "firmware-store"  # the firmware catalog (blobs and index.json)
    # serve polls PoE switches and finishes power-cycles; off on all but one instance when
    # several share a database (a cycle is safe either way: it is leased).
    poe_poller: bool = True
    # Orders (issue 18): received after the cut-off (HH:MM, JST) they count from the next
    # business day, and are due that many business days later.
    order_cutoff: str = "15:00"
    order_due_days: int = 2
    # Timeline retention (docs/operations.md): fetches older than this many days are purged by
    # serve (0: never), but never a device's newest ``retention_keep_last`` fetches; state
    # changes and security events are kept forever.
    retention_fetch_days: int = 90
    retention_keep_last: int = 10
    maintenance_interval: int = 3600  # seconds between purges (and fleet gauge refreshes)
    log_format: str = "text"  # or "json": one object per line, the same fields in every process
    # The PBX cores' registration readers (``http://IP:PORT/RPC``, see `provisioner pbx config
    # --rpc`); serve polls each every registration_poll_seconds. None configured: "unknown".
    pbx_readers: tuple[str, ...] = ()
    registration_poll_seconds: float = 2.0
    unregistered_alert_seconds: int = 600  # line_unregistered after a registered line is lost
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def pbx_srv(self) -> bool:
        """Devices find the cores by DNS SRV (``srv:DOMAIN``)."""
        return self.pbx_core.strip().startswith(SRV_PREFIX)

    @property
    def pbx_cores(self) -> tuple[tuple[str, int], ...]:
        """(host, port) of every core, primary first; the SIP domain alone in SRV mode.

        :class:`ValueError` on a bad port (``validate`` turns it into a SettingsError).
        """
        text = self.pbx_core.strip()
        if text.startswith(SRV_PREFIX):
            return ((text.removeprefix(SRV_PREFIX).strip(), 5060),)
        cores = []
        for item in (part.strip() for part in text.split(",")):
            host, _, port = item.rpartition(":") if ":" in item else (item, "", "5060")
            cores.append((host, int(port)))
        return tuple(cores)

    @property
    def pbx_host(self) -> str:
        """The primary core's host (the SIP domain in SRV mode)."""
        return self.pbx_cores[0][0]

    @property
    def pbx_port(self) -> int:
        return self.pbx_cores[0][1]

    @property
    def pbx_addresses(self) -> tuple[str, ...]:
        """``host:port`` of every core, primary first (a gateway's default cores)."""
        return tuple(f"{host}:{port}" for host, port in self.pbx_cores)

    @property
    def pbx_primary(self) -> str:
        """``host:port`` of the primary core: what the NOTIFY comes from."""
        return self.pbx_addresses[0]

    @classmethod
    def load(cls, toml_path: Path | None = None, **overrides: object) -> Settings:
        """Defaults, then the TOML file, then the environment, then explicit overrides."""
        values: dict[str, object] = {}
        if toml_path is None and os.environ.get(CONFIG_ENV):
            toml_path = Path(os.environ[CONFIG_ENV])
        if toml_path is not None:
            with toml_path.open("rb") as handle:
                values.update(tomllib.load(handle))
        known = {f.name: f for f in fields(cls)}
        for name in known:
            raw = os.environ.get(ENV_PREFIX + name.upper())
            if raw is not None:
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - set(known)
        if unknown:
            raise SettingsError(f"unknown settings: {', '.join(sorted(unknown))}")
        # Any: the values are checked against their fields at run time, by name, by _coerce.
        coerced: dict[str, Any] = {name: _coerce(name, value) for name, value in values.items()}
        return cls(**coerced)

    def validate(self) -> Settings:
        for cidr in (*self.staging_networks, *self.trusted_proxies):
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise SettingsError(
                    f"{ENV_PREFIX}STAGING_NETWORKS or TRUSTED_PROXIES: {cidr!r} is not a "
                    f"network ({exc})"
                ) from exc
        try:
            cores = self.pbx_cores
        except ValueError as exc:
            raise SettingsError(f"{ENV_PREFIX}PBX_CORE: bad port in {self.pbx_core!r}") from exc
        for host, port in cores:
            if not host:
                raise SettingsError(
                    f"{ENV_PREFIX}PBX_CORE: a core without a host in "
                    f"{self.pbx_core!r} (host[:port],host[:port] or srv:DOMAIN)"
                )
            if not 0 < port < 65536:
                raise SettingsError(f"{ENV_PREFIX}PBX_CORE: port {port} out of range")
        if not 10 <= self.nat_keepalive <= 160:
            raise SettingsError(
                f"{ENV_PREFIX}NAT_KEEPALIVE must be 10 to 160 seconds (Grandstream's range)"
            )
        if not 60 <= self.registration_expiry <= 86400:
            raise SettingsError(f"{ENV_PREFIX}REGISTRATION_EXPIRY must be 60 to 86400 seconds")
        hours, _, minutes = self.order_cutoff.partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
            raise SettingsError(f"{ENV_PREFIX}ORDER_CUTOFF must be HH:MM: {self.order_cutoff!r}")
        if not 0 <= self.order_due_days <= 30:
            raise SettingsError(f"{ENV_PREFIX}ORDER_DUE_DAYS must be 0 to 30")
        if not self.http_base.startswith(("http://", "https://")):
            raise SettingsError(f"{ENV_PREFIX}HTTP_BASE must start with http:// or https://")
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(f"{ENV_PREFIX}LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
        if min(self.retention_fetch_days, self.retention_keep_last) < 0:
            raise SettingsError(f"{ENV_PREFIX}RETENTION_* must not be negative")
        if self.maintenance_interval <= 0:
            raise SettingsError(f"{ENV_PREFIX}MAINTENANCE_INTERVAL must be positive")
        if min(self.file_cache_mib, self.packed_cache_mib, self.prime_devices) < 0:
            raise SettingsError(
                f"{ENV_PREFIX}FILE_CACHE_MIB, PACKED_CACHE_MIB and PRIME_DEVICES "
                "must not be negative"
            )
        return self


def _coerce(name: str, value: object) -> object:
    """Environment values are strings: turn them into the field's type."""
    if name == "pbx_readers":
        return tuple(item.strip() for item in _strings(name, value) if item.strip())
    if name in ("staging_networks", "trusted_proxies"):
        return tuple(item.strip() for item in _strings(name, value) if item.strip())
    if name in ("registration_expiry", "http_threads", "http_workers", "rate_capacity",
                "file_cache_mib", "packed_cache_mib", "prime_devices",
                "lockout_seconds", "device_sip_port", "order_due_days", "retention_fetch_days",
                "retention_keep_last", "maintenance_interval",
                "unregistered_alert_seconds", "nat_keepalive"):  # fmt: skip
        return _number(name, value, int)
    if name == "poe_poller":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{ENV_PREFIX}POE_POLLER must be true or false")
    if name in ("rate_refill", "registration_poll_seconds", "body_seconds"):
        return _number(name, value, float)
    return value


def _strings(name: str, value: object) -> list[str]:
    """The environment gives one comma-separated string, a TOML file a list of strings."""
    if isinstance(value, str):
        return value.split(",")
    if isinstance(value, list | tuple):
        strings = [item for item in value if isinstance(item, str)]
        if len(strings) == len(value):
            return strings
    raise SettingsError(f"{ENV_PREFIX}{name.upper()} must be a list of strings")


def _number(name: str, value: object, kind: type[int] | type[float]) -> int | float:
    """A string from the environment or a number from a TOML file, as the field's type."""
    if isinstance(value, str | int | float):
        try:
            return kind(value)
        except ValueError as exc:
            raise SettingsError(f"{ENV_PREFIX}{name.upper()} must be a number") from exc
    raise SettingsError(f"{ENV_PREFIX}{name.upper()} must be a number")
