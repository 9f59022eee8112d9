"""Fetching this gateway's configuration from the provisioner, keeping the last good copy.

``GET <provisioner_url>/gateway/<mac>/config.json`` over HTTPS (the server checked against
``ca_file``) with the device credentials (HTTP Digest). A document is written to
``<state_dir>/config.json`` only after :func:`gateway32.config.parse_config` accepts it, licence
verified with the local issuer key; it is written atomically (temporary file, fsync, rename),
so the engine never reads half a file. When the provisioner is unreachable or answers
something unusable, the last good copy stays and the result says so.
"""

from __future__ import annotations

import datetime as dt
import os
import ssl
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from gateway32.config import ConfigError, parse_config
from gateway32.licence import LicenceError
from gateway32.settings import Settings

MAX_CONFIG_BYTES = 1024 * 1024
USER_AGENT = "gateway32"
TRUNK_HEADER = "X-Gateway32-Trunk"  # how the trunk registration fares, reported on each fetch


class ProvisioningError(RuntimeError):
    """The provisioner's answer cannot be had or used; the message says why."""


@dataclass(frozen=True)
class FetchResult:
    updated: bool  # a new configuration was written
    ok: bool  # the provisioner answered with a good configuration (new or unchanged)
    message: str


def opener(settings: Settings) -> urllib.request.OpenerDirector:
    """urllib with the device credentials (Digest) and the configured CA for HTTPS."""
    if not settings.provisioner_url.startswith(("https://", "http://")):
        raise ProvisioningError("GATEWAY32_PROVISIONER_URL must be an https:// URL")
    if not (settings.http_user and settings.http_password and settings.mac):
        raise ProvisioningError(
            "GATEWAY32_HTTP_USER, GATEWAY32_HTTP_PASSWORD and GATEWAY32_MAC must be set "
            "(the device credentials: 'provisioner gateway credentials MAC')"
        )
    context = ssl.create_default_context(cafile=settings.ca_file or None)
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    passwords.add_password(
        None, settings.provisioner_url, settings.http_user, settings.http_password
    )
    built = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=context),
        urllib.request.HTTPDigestAuthHandler(passwords),
    )
    built.addheaders = [("User-Agent", USER_AGENT)]
    return built


def endpoint(settings: Settings, name: str) -> str:
    return f"{settings.provisioner_url.rstrip('/')}/gateway/{settings.mac}/{name}"


def _download(settings: Settings, timeout: float, trunk_state: str | None) -> bytes:
    request = urllib.request.Request(endpoint(settings, "config.json"))  # noqa: S310 - checked
    if trunk_state is not None:
        request.add_header(TRUNK_HEADER, trunk_state)
    try:
        with opener(settings).open(request, timeout=timeout) as answer:
            body: bytes = answer.read(MAX_CONFIG_BYTES + 1)
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip()
        raise ProvisioningError(f"provisioner answered {exc.code}: {detail or exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ProvisioningError(f"provisioner unreachable: {reason}") from exc
    if len(body) > MAX_CONFIG_BYTES:
        raise ProvisioningError(f"configuration larger than {MAX_CONFIG_BYTES} bytes")
    return body


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a reader sees the old or the new file, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def last_good(settings: Settings) -> str:
    """How old the copy in use is, for the messages."""
    try:
        stamp = settings.config_file.stat().st_mtime
    except FileNotFoundError:
        return "no configuration yet: the gateway cannot carry calls until a fetch succeeds"
    when = dt.datetime.fromtimestamp(stamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return f"keeping the last good configuration, fetched {when}"


def fetch_config(
    settings: Settings, timeout: float = 10.0, trunk_state: str | None = None
) -> FetchResult:
    """One fetch: write a new good configuration, or keep the last one and say why.

    ``trunk_state`` ("registered", or "not registered: why") goes along for the provisioner's
    timeline and alerts; None when the trunk needs no registration.
    """
    try:
        body = _download(settings, timeout, trunk_state)
        issuer = Path(settings.issuer_key).read_bytes()
        parse_config(body, issuer, settings.mac)
    except (ProvisioningError, ConfigError, LicenceError) as exc:
        return FetchResult(updated=False, ok=False, message=f"{exc}; {last_good(settings)}")
    except RecursionError:
        message = f"the answer is JSON nested too deep to be a configuration; {last_good(settings)}"
        return FetchResult(updated=False, ok=False, message=message)
    except OSError as exc:
        return FetchResult(
            updated=False,
            ok=False,
            message=f"cannot read the issuer key {settings.issuer_key}: {exc.strerror}; "
            f"{last_good(settings)}",
        )
    try:
        unchanged = settings.config_file.read_bytes() == body
    except FileNotFoundError:
        unchanged = False
    if unchanged:
        return FetchResult(updated=False, ok=True, message="configuration unchanged")
    write_atomically(settings.config_file, body)
    return FetchResult(
        updated=True, ok=True, message=f"new configuration in {settings.config_file}"
    )
