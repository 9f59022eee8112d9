"""Warehouse staff accounts: scrypt-hashed passwords, constant-time checks, lockout on guessing.

A wrong password and an unknown name cost the same scrypt work and get the same answer, so the
login page tells nobody which names exist. After ``MAX_FAILURES`` wrong passwords in a row the
account refuses even the right one until its lockout ends (kept in the database: every HTTP
worker sees it).
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
from provisioner.domain.errors import Conflict, Invalid, NotFound

USERNAME_PATTERN = r"[a-z0-9][a-z0-9._-]{0,39}"
MIN_PASSWORD = 10
MAX_PASSWORD = 200  # scrypt takes any length; a megabyte "password" is a denial of service
MAX_FAILURES = 5
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
        failed_logins=0,
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


def locked_until(account: StaffAccount) -> dt.datetime | None:
    """When the account's lockout ends, None when it is not locked now."""
    until = _aware(account.locked_until)
    return until if until is not None and until > utcnow() else None


def log_in(
    session: Session, username: str, password: str, lockout_seconds: int, *, customer: bool = False
) -> Login:
    """Check a login; count failures and lock the account after ``MAX_FAILURES``. A customer's
    administrator logs in only to the customer pages (``customer``), staff only to the others:
    the other kind is refused like an unknown name."""
    account = _find(session, username) if len(password) <= MAX_PASSWORD else None
    if account is not None and (account.tenant_id is not None) != customer:
        account = None
    if account is None or account.disabled_at is not None:
        check_password(password[:MAX_PASSWORD], _dummy_hash())
        return Login(LoginResult.REFUSED)
    now = utcnow()
    until = locked_until(account)
    if until is not None:
        return Login(LoginResult.LOCKED, account.username, until)
    if not check_password(password, account.password_hash):
        account.failed_logins += 1
        if account.failed_logins >= MAX_FAILURES:
            account.failed_logins = 0
            account.locked_until = now + dt.timedelta(seconds=lockout_seconds)
            return Login(LoginResult.LOCKED, account.username, account.locked_until)
        return Login(LoginResult.REFUSED)
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    return Login(LoginResult.OK, account.username)


def _find(session: Session, username: str) -> StaffAccount | None:
    if not re.fullmatch(USERNAME_PATTERN, username):
        return None
    return session.scalar(select(StaffAccount).where(StaffAccount.username == username))


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment.replace(tzinfo=moment.tzinfo or dt.UTC) if moment is not None else None


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
