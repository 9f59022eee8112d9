"""Who is acting in this thread or request: one context every door sets (docs/architecture.md,
"Audit and customer scope").

The audit listener reads it to say who made a change and how, and the tenant-scope listener
reads it to show a customer only its own tenant's rows. A context variable, so each request,
command or scheduled change carries its own; outside any (a background thread) the actor is
the service itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Actor:
    """Who (name and role), through which door, from where, and which tenant bounds them."""

    name: str  # "api alice", "staff hanako", "customer sato", "cli", "service"
    door: str  # api, page, cli, import, scheduler, service
    role: str | None = None
    tenant_id: int | None = None  # whose change; a customer sees and changes only this tenant
    request_id: str | None = None
    source: str | None = None

    def within(self, **changes: object) -> Actor:
        return replace(self, **changes)  # type: ignore[arg-type]


SERVICE = Actor("service", "service")
_current: ContextVar[Actor] = ContextVar("provisioner_actor", default=SERVICE)


def current() -> Actor:
    return _current.get()


CUSTOMER_ROLE = "customer"


def tenant_scope() -> int | None:
    """The one tenant the current actor may see: a customer's; None for staff and the service
    (a staff member's scheduled change carries its tenant for the history, not as a scope)."""
    actor = _current.get()
    return actor.tenant_id if actor.role == CUSTOMER_ROLE else None


@contextmanager
def acting(actor: Actor) -> Iterator[Actor]:
    """Everything done inside runs as ``actor``; the one before comes back after, whatever
    happens (a worker thread serves many requests)."""
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def set_actor(actor: Actor) -> object:
    """For doors whose start and end are two callbacks (Flask's before and teardown)."""
    return _current.set(actor)


def reset_actor(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
