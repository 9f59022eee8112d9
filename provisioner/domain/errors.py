"""Refusals of inventory changes, sorted by what the caller has to do about them.

Front doors map them onto their protocol (the REST API: 404, 409, 422); every message says
what to change. :class:`provisioner.domain.inventory.lifecycle.LifecycleError` is a conflict too.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from provisioner.db.models import Base

# Identifiers are INTEGER columns, 32-bit signed on PostgreSQL; a larger number names nothing,
# and would make the database raise instead of finding no row.
MAX_ID = 2**31 - 1

T = TypeVar("T", bound=Base)


class NotFound(LookupError):
    """The thing named does not exist."""


class Invalid(ValueError):
    """A value is malformed or names nothing usable: fix the request."""


class Conflict(ValueError):
    """A well-formed request that the inventory's current state refuses."""


def get_by_id(session: Session, model: type[T], ident: int, what: str) -> T:
    """The row with this primary key, or :class:`NotFound` naming ``what`` was looked for."""
    found = session.get(model, ident) if 0 < ident <= MAX_ID else None
    if found is None:
        raise NotFound(f"no {what} with id {ident}")
    return found
