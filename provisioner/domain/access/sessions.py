"""Logged-in sessions of the staging and customer pages, kept server-side.

The signed cookie alone stayed valid for its whole lifetime after a logout, so a copied cookie
outlived it. Now the cookie also carries a random session id whose SHA-256 is a row here:
logging out deletes the row, and a cookie whose row is gone (or expired) is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete
from sqlalchemy.orm import Session

from provisioner.db.models import aware, utcnow
from provisioner.db.staging import WebSession

SESSION_HOURS = 12  # one working day on the bench


def open_session(session: Session, username: str) -> str:
    """A new session of ``username``: the id for its cookie. Expired ones are dropped."""
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id_hash=_hash(token),
            username=username,
            created_at=now,
            expires_at=now + dt.timedelta(hours=SESSION_HOURS),
        )
    )
    return token


def session_user(session: Session, token: str) -> str | None:
    """Whose session ``token`` is, None when it was closed, has expired or never was."""
    if not token:
        return None
    row = session.get(WebSession, _hash(token))
    if row is None or aware(row.expires_at) <= utcnow():
        return None
    return row.username


def close_session(session: Session, token: str) -> None:
    """Log out: every copy of the cookie is refused from now on."""
    if token:
        session.execute(delete(WebSession).where(WebSession.id_hash == _hash(token)))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
