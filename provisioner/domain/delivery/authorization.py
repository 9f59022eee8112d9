"""Authorization outside the bench: who, besides the bench, may have a device's own file.

Over HTTP, a request that authenticates as the device (Digest, or Basic over HTTPS), or the
first request of a ``shipped`` device from one of its tenant's allowed networks (which moves it
to ``installed``). Everything else is challenged exactly like an unknown MAC: no oracle.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from provisioner.db.models import DeviceState
from provisioner.db.session import Database
from provisioner.domain.delivery.digest import DigestVerdict, NonceMint, SpentNonces, verify
from provisioner.domain.delivery.fetches import Fetch, Outcome, Refusal
from provisioner.domain.delivery.networks import in_networks, parse_networks
from provisioner.domain.delivery.ratelimit import Cost
from provisioner.domain.inventory import lifecycle, re_enrol
from provisioner.domain.inventory.lookup import DeviceRecord, load_device
from provisioner.secretbox import SecretBox

security_log = logging.getLogger("provisioner.security")

# Refusal reasons ``device doctor`` reads back from a device's timeline.
WRONG_CREDENTIALS = f"credentials {DigestVerdict.BAD}"
NETWORK_NOT_ALLOWED = "network not allowed"


def credential_verdict(
    fetch: Fetch,
    found: DeviceRecord | None,
    decrypt: Callable[[str], str],
    spent: SpentNonces,
    mint: NonceMint,
) -> str | None:
    """A DigestVerdict, or None when the request presented no usable credentials.
    ``decrypt``: a stored secret's plain text (``SecretBox.decrypt``, or a memo of it).

    An unknown device is compared against a dummy, so it costs the same time as a known one.
    """
    basic = fetch.basic if fetch.protocol == "https" else None
    if fetch.digest is None and basic is None:
        return None  # nothing to compare: the challenge (a boot storm's every first request)
    user, password = ("\0", "\0")
    if found is not None and (login := found.access.http_login(decrypt)) is not None:
        user, password = login
    if fetch.digest is not None:
        if not uri_matches(fetch.digest.uri, fetch.target):
            return DigestVerdict.BAD  # an answer for another URI proves nothing about this one
        return verify(spent, mint, fetch.digest, user, password, fetch.method)
    if basic is not None:
        given_user, given_password = basic
        return (
            DigestVerdict.OK
            if _equal(given_user, user) & _equal(given_password, password)
            else DigestVerdict.BAD
        )
    return None


def uri_matches(uri: str, target: str | None) -> bool:
    """Whether a Digest answer's ``uri`` names the requested resource (RFC 7616 section
    3.4.6): its path (percent-decoded, as the server routed it) and query, in origin or
    absolute form. A request without a request line (``target`` None) has nothing to match."""
    if target is None or uri == target:  # what phones send: the path as they requested it
        return True
    parts = urlsplit(uri)
    named = unquote(parts.path) + (f"?{parts.query}" if parts.query else "")
    return named == target


def install_on_first_contact(
    fetch: Fetch, found: DeviceRecord, db: Database, box: SecretBox
) -> bool:
    """A shipped device's first fetch from its customer's network installs it."""
    if found.access.state is not DeviceState.SHIPPED:
        return False
    if not in_networks(fetch.source, parse_networks(found.access.allowed_networks)):
        return False
    with db.session() as session:
        device = load_device(session, found.mac)
        if device is None or device.state is not DeviceState.SHIPPED:
            return False
        lifecycle.apply(
            session, box, device, lifecycle.Action.INSTALL,
            actor=f"first fetch from {fetch.source}",
        )  # fmt: skip
    security_log.info("device %s installed: first fetch from %s", found.mac, fetch.source)
    return True


def re_enrol_on_contact(fetch: Fetch, found: DeviceRecord, db: Database) -> bool:
    """An installed device's credential-less fetch from its customer's network while support's
    re-enrolment window is open: this one fetch gets the file with the new credentials.
    Decided from the cached device first: every Digest fetch starts without credentials."""
    if found.access.state is not DeviceState.INSTALLED or found.access.re_enrol_until is None:
        return False
    if not in_networks(fetch.source, parse_networks(found.access.allowed_networks)):
        return False
    with db.session() as session:
        if not re_enrol.consume(session, found.mac, fetch.source):
            return False
    security_log.info("device %s re-enrolled: fetch from %s", found.mac, fetch.source)
    return True


def challenge(
    verdict: str | None,
    mint: NonceMint,
    fetch: Fetch | None = None,
    found: DeviceRecord | None = None,
    first_contact: bool = False,
) -> Refusal:
    """The 401 for a request that did not prove it is the device, with a fresh nonce.

    Wrong or replayed credentials cost the source more than none, and are logged as a
    warning. A challenge to a request without credentials is every Digest fetch's first step,
    and a stale nonce is routine too (the device retries with the new one): both are counted
    and logged at DEBUG, since a boot storm would otherwise write a log line per phone and
    spend a tenth of the hot path on it. The answer is the same whatever the reason (no
    oracle); a known device's wrong credentials and a first contact from outside its tenant's
    networks also go on its timeline, for ``device doctor``.
    """
    bad = verdict in (DigestVerdict.BAD, DigestVerdict.REPLAY)
    reason = {None: "no credentials", DigestVerdict.STALE: "stale nonce"}.get(
        verdict, f"credentials {verdict}"
    )
    record_on = None
    if found is not None and bad:
        record_on = found.mac
    elif (
        found is not None
        and fetch is not None
        and verdict is None
        and first_contact
        and _outside_awaited_network(fetch, found)
    ):
        reason, record_on = NETWORK_NOT_ALLOWED, found.mac
    return Refusal(
        Outcome.UNAUTHORIZED,
        reason,
        label="bad_credentials" if bad else "no_credentials",
        cost=Cost.BAD_CREDENTIALS if bad else Cost.ROUTINE,
        level=logging.DEBUG if verdict in (None, DigestVerdict.STALE) else logging.WARNING,
        record_on=record_on,
        challenge=mint.challenge(stale=verdict == DigestVerdict.STALE),
        wrong_answer=verdict == DigestVerdict.BAD,
    )


def _outside_awaited_network(fetch: Fetch, found: DeviceRecord) -> bool:
    """A credential-less fetch that would have installed a shipped device, or re-enrolled an
    armed one, had it come from one of its tenant's allowed networks.

    Any other credential-less fetch is the first leg of a Digest exchange (every fetch of an
    installed phone starts with one): routine, never told.
    """
    access, until = found.access, found.access.re_enrol_until
    awaited = access.state is DeviceState.SHIPPED or (
        access.state is DeviceState.INSTALLED
        and until is not None  # SQLite hands it back naive (stored in UTC)
        and until.replace(tzinfo=until.tzinfo or dt.UTC) > dt.datetime.now(dt.UTC)
    )
    return awaited and not in_networks(fetch.source, parse_networks(access.allowed_networks))


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
