"""Refusals of domain operations, sorted by what the caller has to do about them.

Every refusal is a :class:`DomainError`, so each front door maps them in one place onto its
protocol (the REST API: 404, 409, 422; the CLI: an error message and exit 1); every message says
what to change. :class:`provisioner.domain.inventory.lifecycle.LifecycleError`,
:class:`provisioner.domain.inventory.macs.BadMac` and
:class:`provisioner.domain.inventory.sheet.SheetError` are kinds of these.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from provisioner.db.models import Base

# Identifiers are INTEGER columns, 32-bit signed on PostgreSQL; a larger number names nothing,
# and would make the database raise instead of finding no row.
MAX_ID = 2**31 - 1

T = TypeVar("T", bound=Base)


class DomainError(Exception):
    """A refusal the caller can act on; its message says what to change."""


class NotFound(DomainError, LookupError):
    """The thing named does not exist."""


class Invalid(DomainError, ValueError):
    """A value is malformed or names nothing usable: fix the request."""


class Conflict(DomainError, ValueError):
    """A well-formed request that the inventory's current state refuses."""


def get_by_id(session: Session, model: type[T], ident: int, what: str) -> T:
    """The row with this primary key, or :class:`NotFound` naming ``what`` was looked for."""
    found = session.get(model, ident) if 0 < ident <= MAX_ID else None
    if found is None:
        raise NotFound(f"no {what} with id {ident}")
    return found
