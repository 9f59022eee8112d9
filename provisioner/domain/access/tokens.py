"""Bearer tokens of the admin API: shown once when made, only their SHA-256 kept.

A token is looked up by its hash and the hashes compared in constant time, so neither the
database nor a timing difference gives a usable token away.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.db.models import ApiRole, ApiToken, Tenant, utcnow
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.inventory.patterns import is_name

TOKEN_NAME_LENGTH = 64  # "api <name>" fits a timeline's actor column


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session, name: str, role: ApiRole, tenant: Tenant | None = None
) -> tuple[ApiToken, str]:
    """A new token and its only clear copy, for the caller to hand over. A customer token is
    bound to one tenant; a staff token to none."""
    if (role is ApiRole.CUSTOMER) != (tenant is not None):
        raise Invalid("a customer token needs its tenant, and only a customer token has one")
    if not is_name(name, TOKEN_NAME_LENGTH):
        raise Invalid(
            f"token name {name!r} must be 1 to {TOKEN_NAME_LENGTH} characters, without "
            "control characters and without spaces at either end"
        )
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise Conflict(f"a token named {name!r} exists already (revoked or not); choose another")
    plain = secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        role=role,
        token_sha256=digest(plain),
        tenant_id=tenant.id if tenant else None,
        created_at=utcnow(),
    )
    session.add(token)
    session.flush()
    return token, plain


def authenticate(session: Session, presented: str) -> ApiToken | None:
    """The live token presented, or None (unknown, revoked, or empty)."""
    if not presented:
        return None
    wanted = digest(presented)
    token = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == wanted))
    if token is None or token.revoked_at is not None:
        return None
    return token if hmac.compare_digest(token.token_sha256, wanted) else None


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.name)))


def revoke_token(session: Session, name: str) -> ApiToken:
    """Revoke by name; revoking twice keeps the first time."""
    token = session.scalar(select(ApiToken).where(ApiToken.name == name)) if is_name(name) else None
    if token is None:
        raise NotFound(f"no token named {name!r}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token
