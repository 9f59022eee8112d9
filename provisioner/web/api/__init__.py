"""The admin REST API under ``/api/v1/``, its OpenAPI document at ``/api/v1/openapi.json``.

Thin views: a schema checks the request's shape, one domain call does the work in one unit of
work, and the result is presented as plain data. Device-file routes stay outside the document.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask
from flask import Response, current_app, g, request

from provisioner.db.session import rehearsing
from provisioner.domain.delivery.resync import ResyncQueue
from provisioner.web.api import (
    accounts,
    actions,
    convergence,
    devices,
    docs_ui,
    door,
    errors,
    firmware,
    gateways,
    history,
    imports,
    keys,
    leases,
    orders,
    phonebook,
    poe,
    re_enrol,
    resync,
    settings,
    tenants,
    tokens,
)
from provisioner.web.api.auth import caller
from provisioner.web.api.context import API_PREFIX
from provisioner.web.api.schemas import ERROR_SCHEMA

MAX_BODY = 16 * 1024 * 1024  # a sheet of 100,000 rows is about 10 MB

DESCRIPTION = """\
Inventory administration for the provisioning server: tenants, SIP accounts, representative
numbers, devices and their lines, lifecycle actions, sheet imports and device timelines.

Authenticate with `Authorization: Bearer <token>`. Roles: **admin** (everything, the only role
that reads SIP passwords and device credentials), **warehouse** (adds, binds, stages and ships
devices, sets lines, imports sheets), **support** and **readonly** (read), and **customer** (a
customer's administrator: its own tenant only; another tenant's objects answer 404 like missing
ones). Each operation lists the roles allowed to call it.

Any change (POST, PUT, PATCH, DELETE) may carry `?apply_at=2026-12-24T09:00:00+09:00`: it is
checked now and answered 202 with a scheduled change (`/api/v1/scheduled-changes`), applied at
that time exactly once. Every change and refused change is in the history (`/api/v1/audit`).

Errors are `{"error": "..."}` with a 4xx status; the message says what to change.
"""


def api_app(import_name: str) -> APIFlask:
    """A Flask application carrying the admin API; the caller adds its other blueprints."""
    app = APIFlask(
        import_name,
        title="Provisioner admin API",
        version="1",
        spec_path=f"{API_PREFIX}/openapi.json",
        docs_path=f"{API_PREFIX}/docs",
        json_errors=False,  # device-file errors keep their plain bodies; errors.py does ours
    )
    app.config.update(
        DESCRIPTION=DESCRIPTION,
        HTTP_ERROR_SCHEMA=ERROR_SCHEMA,
        VALIDATION_ERROR_SCHEMA=ERROR_SCHEMA,
        MAX_CONTENT_LENGTH=MAX_BODY,
        **docs_ui.ui_config(),  # no CDN: Swagger UI from a pinned package
    )
    errors.register(app)
    door.register(app)
    for module in (
        tenants,
        accounts,
        devices,
        actions,
        resync,
        re_enrol,
        imports,
        tokens,
        leases,
        orders,
        poe,
        gateways,
        firmware,
        convergence,
        settings,
        keys,
        phonebook,
        history,
        docs_ui,
    ):
        app.register_blueprint(module.bp)
    app.after_request(_resync_touched)
    app.spec_processor(_complete_document)
    return app


APPLY_AT_PARAMETER = {
    "name": door.APPLY_AT,
    "in": "query",
    "required": False,
    "description": "Apply the change at this time (ISO 8601 with its offset) instead of now.",
    "schema": {"type": "string", "format": "date-time"},
}
UNSCHEDULABLE_RESPONSE = {
    "description": "apply_at is not a future time, or the operation cannot be scheduled",
    "content": {"application/json": {"schema": ERROR_SCHEMA}},
}
SCHEDULED_RESPONSE = {
    "description": "Checked and scheduled (sent with apply_at)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScheduledOut"}}},
}


def _resync_touched(response: Response) -> Response:
    """After a change went through, tell the devices whose file it altered (SIP NOTIFY)."""
    touched = g.pop("touched_devices", None)
    replay = request.environ.get(door.REPLAY)
    if replay is not None and touched:  # told once the scheduler's transaction committed
        replay.touched |= touched
        return response
    if touched and response.status_code < 400 and not rehearsing():
        queue: ResyncQueue = current_app.extensions["resync"]
        queue.submit(touched, actor=caller().actor)
    return response


def _complete_document(spec: dict[str, Any]) -> dict[str, Any]:
    """What APIFlask leaves out: the CSV body of an import or order, which JSON bodies are required,
    and the 400 a body that is not JSON gets."""
    spec["paths"][API_PREFIX + imports.IMPORT_PATH]["post"]["requestBody"] = imports.SHEET_BODY
    spec["paths"][API_PREFIX + phonebook.PHONEBOOK_PATH]["put"]["requestBody"] = (
        phonebook.SHEET_BODY
    )
    spec["paths"][API_PREFIX + orders.ORDERS_PATH]["post"]["requestBody"] = orders.SHEET_BODY
    schemas = spec["components"]["schemas"]
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method.upper() in door.CHANGES:
                operation.setdefault("parameters", []).append(APPLY_AT_PARAMETER)
                operation["responses"]["202"] = SCHEDULED_RESPONSE
                operation["responses"].setdefault("422", UNSCHEDULABLE_RESPONSE)
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            name = body["schema"]["$ref"].rsplit("/", 1)[-1]
            operation["requestBody"]["required"] = bool(schemas[name].get("required"))
            operation["responses"]["400"] = {
                "description": "The body is not JSON",
                "content": {"application/json": {"schema": ERROR_SCHEMA}},
            }
    return spec
