"""What every HTTP request carries for the history and for scheduling (docs/architecture.md,
"Audit and customer scope", "Scheduled changes").

- Who: the actor context is set when a request starts (door ``api`` or ``page``, request id,
  source address) and completed by whoever authenticates it (a token, a page login); it ends
  with the request.
- ``apply_at``: a change sent with ``?apply_at=ISO-8601`` is run once with every unit of work
  rolled back, which checks it through the same views and domain code; if that succeeds the
  request is stored and answered 202 (it is applied later by ``web.replay``).
- A refused change (4xx, 5xx) leaves one failure record, in a transaction of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from contextlib import ExitStack
from typing import Any

from apiflask import abort
from flask import Flask, Response, g, request
from werkzeug.datastructures import ImmutableMultiDict

from provisioner.db.actor import Actor, current, reset_actor, set_actor
from provisioner.db.audit import ScheduledChange, tenants_seen
from provisioner.db.session import rehearsal
from provisioner.domain import audit, schedule
from provisioner.domain.delivery.pipeline import client_address
from provisioner.domain.errors import Invalid
from provisioner.web.api.context import API_PREFIX, provisioner

CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
APPLY_AT = "apply_at"
REPLAY = "provisioner.replay"  # a WSGI environ key set by web.replay, never by a header
# Set by a page that acts through the API in-process: who (the page's actor) and how.
PAGE_ACTOR = "provisioner.page_actor"
# The request's own (not ``g``, which a request made in-process inside another one shares).
ACTOR_TOKEN = "provisioner.actor_token"  # noqa: S105 - a key, not a secret
DOORS = {"/staging/": "page", "/customer/": "page", API_PREFIX + "/": "api"}
# Requests that are not changes of the inventory: their refusals are not history.
NOT_CHANGES = (API_PREFIX + "/dhcp/leases", "/staging/login", "/customer/login", "/gateway/")
# What cannot wait: a checking run would already send the NOTIFY or cut the power, a token is
# shown only once, and a scheduled change is cancelled now.
UNSCHEDULABLE = ("/actions/resync", "/actions/power-cycle", "/tokens", "/scheduled-changes")


# Halves of credentials no customer reads, whichever route would show them.
HIDDEN_FROM_CUSTOMERS = frozenset({"sip_username", "http_user"})


def register(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_conclude)
    app.after_request(_hide_from_customers)
    app.teardown_request(_end)


def _hide_from_customers(response: Response) -> Response:
    if current().role != "customer" or not response.is_json:
        return response
    body = response.get_json(silent=True)
    if body is not None:
        response.set_data(json.dumps(_hidden(body), ensure_ascii=False))
    return response


def _hidden(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "" if k in HIDDEN_FROM_CUSTOMERS else _hidden(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hidden(item) for item in value]
    return value


def _door() -> str | None:
    return next((door for prefix, door in DOORS.items() if request.path.startswith(prefix)), None)


def _start() -> Response | None:
    door = _door()
    if door is None or REPLAY in request.environ:
        return None  # device files stay lean; a replay runs as its scheduler's actor
    page: Actor | None = request.environ.get(PAGE_ACTOR)
    if page is not None:
        request.environ[ACTOR_TOKEN] = set_actor(page)
    else:
        source = client_address(request.remote_addr or "", request.headers.get("X-Forwarded-For"),
                                provisioner().proxies)  # fmt: skip
        wanted = request.headers.get("X-Request-Id", "")
        request_id = wanted if 0 < len(wanted) <= 40 and wanted.isprintable() else uuid.uuid4().hex
        actor = Actor("anonymous", door, request_id=request_id, source=source)
        request.environ[ACTOR_TOKEN] = set_actor(actor)
    return None


def begin_schedule() -> None:
    """Called once the caller is authenticated: a change sent with ``apply_at`` is checked
    by running it with every unit of work rolled back (422 for a time or an operation that
    cannot be scheduled)."""
    if APPLY_AT not in request.args or request.method not in CHANGES or REPLAY in request.environ:
        return
    if any(part in request.path for part in UNSCHEDULABLE):
        abort(422, "this operation cannot be scheduled; leave apply_at out")
    try:
        g.apply_at = schedule.check_apply_at(request.args[APPLY_AT])
    except Invalid as exc:
        abort(422, str(exc))
    # The body is read now and kept: a view that reads it uncached (a CSV sheet) would leave
    # nothing for the stored change.
    request.get_data()
    # The views see the request as if sent without apply_at (a query schema may RAISE).
    request.args = ImmutableMultiDict(  # type: ignore[misc]
        [(k, v) for k, v in request.args.items(multi=True) if k != APPLY_AT]
    )
    g.rehearsal = ExitStack()
    g.rehearsal.enter_context(rehearsal())
    g.tenants = g.rehearsal.enter_context(tenants_seen())


def _conclude(response: Response) -> Response:
    stack: ExitStack | None = g.pop("rehearsal", None)
    if stack is not None:
        stack.close()
        if response.status_code < 300:
            return _store(response)
    if (
        response.status_code >= 400
        and response.status_code != 401
        and request.method in CHANGES
        and _door() is not None
        and REPLAY not in request.environ
        and not request.path.startswith(NOT_CHANGES)
    ):
        audit.record_failure(
            provisioner().db, f"{request.method} {request.path}", _summary(response)
        )
    return response


def _end(_error: BaseException | None) -> None:
    """Whatever happened, nothing of this request stays with the thread."""
    stack: ExitStack | None = g.pop("rehearsal", None)
    if stack is not None:
        stack.close()
    token = request.environ.pop(ACTOR_TOKEN, None)
    if token is not None:
        reset_actor(token)


def _summary(response: Response) -> str:
    """The error message of a refused request, with what was asked."""
    message = ""
    if response.is_json:
        body: Any = response.get_json(silent=True)
        message = body.get("error", "") if isinstance(body, dict) else ""
    return f"{request.method} {request.full_path.rstrip('?')} -> {response.status_code} {message}"


def _store(_checked: Response) -> Response:
    """Keep the checked request for its time; answer 202 with the scheduled change."""
    actor = current()
    with provisioner().db.session() as session:
        change = schedule.schedule(
            session,
            apply_at=g.apply_at,
            method=request.method,
            path=request.path,
            query=_query_string(),
            content_type=request.content_type,
            body=request.get_data(as_text=True),
            actor=actor.name,
            role=actor.role or "",
            tenant_id=actor.tenant_id if actor.tenant_id is not None else _one(g.tenants),
        )
        shown = present_change(change)
    response = Response(json.dumps(shown, ensure_ascii=False), 202, mimetype="application/json")
    response.headers["Location"] = f"{API_PREFIX}/scheduled-changes/{shown['id']}"
    return response


def _one(tenants: set[int]) -> int | None:
    """The tenant a staff member's change is for, when it touches one tenant's rows only."""
    return next(iter(tenants)) if len(tenants) == 1 else None


def _query_string() -> str:
    """The query as sent, without apply_at."""
    raw = request.query_string.decode("latin-1")
    return "&".join(part for part in raw.split("&") if not part.startswith(APPLY_AT + "="))


def present_change(change: ScheduledChange) -> dict[str, Any]:
    def utc(moment: dt.datetime | None) -> str | None:
        return audit.utc(moment).isoformat() if moment is not None else None

    return {
        "id": change.id,
        "apply_at": utc(change.apply_at),
        "created_at": utc(change.created_at),
        "method": change.method,
        "path": change.path,
        "query": change.query,
        "body": change.body,
        "actor": change.actor,
        "role": change.role,
        "tenant_id": change.tenant_id,
        "status": change.status,
        "done_at": utc(change.done_at),
        "outcome": change.outcome,
    }
