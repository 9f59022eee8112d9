"""Warehouse staff accounts: scrypt-hashed passwords, constant-time checks, lockout on guessing.

Every login attempt costs the same scrypt work, whether the name exists, is disabled or is
locked out, and an unknown name gets the same answers as a known one, so the login page tells
nobody which names exist. Guessing is limited per source address and per (address, name)
(``logins``), never per account alone: nobody can lock an account's owner out from elsewhere.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.db.models import Tenant, utcnow
from provisioner.db.staging import StaffAccount
from provisioner.domain.access import logins
from provisioner.domain.errors import Conflict, Invalid, NotFound

USERNAME_PATTERN = r"[a-z0-9][a-z0-9._-]{0,39}"
MIN_PASSWORD = 10
MAX_PASSWORD = 200  # scrypt takes any length; a megabyte "password" is a denial of service
# scrypt at n=2**14, r=8: 16 MiB and about 50 ms a check here, OWASP's lower bound.
_N, _R, _P = 2**14, 8, 1


class LoginResult(enum.Enum):
    OK = "ok"
    REFUSED = "refused"  # wrong password, unknown or disabled name: one answer for all
    LOCKED = "locked"


@dataclass(frozen=True)
class Login:
    result: LoginResult
    username: str | None = None
    locked_until: dt.datetime | None = None


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, _N, _R, _P)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(key)}"


def check_password(password: str, stored: str) -> bool:
    """Constant-time comparison against a stored hash (its own cost parameters)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        expected = base64.b64decode(key)
        if scheme != "scrypt":
            return False
        given = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(given, expected)


@functools.cache
def _dummy_hash() -> str:
    """What an unknown name is checked against, so that it costs a real password's time."""
    return hash_password(secrets.token_urlsafe(16))


def check_username(username: str) -> str:
    if not re.fullmatch(USERNAME_PATTERN, username):
        raise Invalid(
            f"user name {username!r} must be 1 to 40 lower-case letters, digits, '.', '_' or "
            "'-', starting with a letter or digit"
        )
    return username


def check_new_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Invalid(f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def add_staff(
    session: Session, username: str, password: str, tenant: Tenant | None = None
) -> StaffAccount:
    """A warehouse staff account, or with ``tenant`` a customer's administrator (who logs in to
    the customer pages of that tenant only, never to the staging pages)."""
    check_username(username)
    check_new_password(password)
    if _find(session, username) is not None:
        raise Conflict(f"staff account {username!r} exists already")
    account = StaffAccount(
        username=username,
        password_hash=hash_password(password),
        tenant_id=tenant.id if tenant else None,
    )
    session.add(account)
    session.flush()
    return account


def list_staff(session: Session) -> list[StaffAccount]:
    return list(session.scalars(select(StaffAccount).order_by(StaffAccount.username)))


def disable_staff(session: Session, username: str) -> StaffAccount:
    """Disabled at once: the next page its open sessions load sends them to the login."""
    account = _find(session, username)
    if account is None:
        raise NotFound(f"no staff account {username!r}; see: provisioner staff list")
    if account.disabled_at is None:
        account.disabled_at = utcnow()
    return account


def active_staff(session: Session, username: str) -> StaffAccount | None:
    """The warehouse account behind a logged-in session, None once disabled or removed (or
    when it is a customer's)."""
    account = _find(session, username)
    if account is None or account.disabled_at is not None or account.tenant_id is not None:
        return None
    return account


def active_customer(session: Session, username: str) -> StaffAccount | None:
    """The customer administrator behind a customer-page session, None once disabled."""
    account = _find(session, username)
    if account is None or account.disabled_at is not None or account.tenant_id is None:
        return None
    return account


def log_in(
    session: Session,
    username: str,
    password: str,
    lockout_seconds: int,
    *,
    source: str,
    customer: bool = False,
) -> Login:
    """Check a login from ``source`` (the client's address); count failures per address and
    per (address, name) and refuse while either is locked out (``logins``). A customer's
    administrator logs in only to the customer pages (``customer``), staff only to the others:
    the other kind is refused like an unknown name."""
    account = _find(session, username) if len(password) <= MAX_PASSWORD else None
    if account is not None and (
        (account.tenant_id is not None) != customer or account.disabled_at is not None
    ):
        account = None
    # The same scrypt work whatever the outcome: time tells nothing either.
    right = check_password(
        password[:MAX_PASSWORD], account.password_hash if account else _dummy_hash()
    )
    now = utcnow()
    until = logins.locked(session, source, username, now)
    if until is not None:
        return Login(LoginResult.LOCKED, locked_until=until)
    if account is None or not right:
        until = logins.failed(session, source, username, lockout_seconds, now)
        return Login(LoginResult.LOCKED if until else LoginResult.REFUSED, locked_until=until)
    logins.succeeded(session, source, username)
    account.last_login_at = now
    return Login(LoginResult.OK, account.username)


def _find(session: Session, username: str) -> StaffAccount | None:
    if not re.fullmatch(USERNAME_PATTERN, username):
        return None
    return session.scalar(select(StaffAccount).where(StaffAccount.username == username))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
