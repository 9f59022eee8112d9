"""The customer pages' routes: reads from the domain (scoped to the tenant) or, where the API
already shapes them (keys, settings), from the API; changes through the admin API in-process as
the logged-in customer; answers a page."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from provisioner.db.actor import current
from provisioner.db.models import ApiRole, Device
from provisioner.domain import audit, schedule
from provisioner.domain.errors import NotFound
from provisioner.domain.inventory import devices, tenants
from provisioner.domain.inventory.lookup import timeline
from provisioner.domain.inventory.representatives import rings_for_representative
from provisioner.domain.registrations.plain import plain_status
from provisioner.domain.registrations.status import device_lines
from provisioner.domain.timeline import EventKind
from provisioner.vendors.base import KeyType
from provisioner.vendors.settings import CUSTOMER_SETTINGS, SETTINGS
from provisioner.web.api.auth import IN_PROCESS_CALLER, Caller
from provisioner.web.api.context import API_PREFIX, provisioner
from provisioner.web.api.door import PAGE_ACTOR, present_change
from provisioner.web.customer.guard import t
from provisioner.web.customer.messages import phonebook_row
from provisioner.web.staging.guard import end_session, language, login_form

JST = dt.timezone(dt.timedelta(hours=9), "JST")
HISTORY_PAGE = 50  # records per page: a phone scrolls through the newest first


def register(bp: Blueprint) -> None:
    for rule, view, methods in (
        ("/", devices_page, ["GET"]),
        ("/login", login, ["GET", "POST"]),
        ("/logout", logout, ["POST"]),
        ("/devices/<mac>", device_page, ["GET"]),
        ("/devices/<mac>/settings", device_settings, ["POST"]),
        ("/devices/<mac>/lines/<int:port>", line_settings, ["POST"]),
        ("/devices/<mac>/phone-settings", phone_settings, ["POST"]),
        ("/devices/<mac>/keys", keys_page, ["GET", "POST"]),
        ("/devices/<mac>/keys/<int:position>/delete", delete_key, ["POST"]),
        ("/phonebook", phonebook, ["GET", "POST"]),
        ("/devices/<mac>/resync", resync, ["POST"]),
        ("/devices/<mac>/power-cycle", power_cycle, ["POST"]),
        ("/networks", networks, ["GET", "POST"]),
        ("/history", history, ["GET"]),
        ("/history.csv", history_csv, ["GET"]),
        ("/scheduled/<int:change_id>/cancel", cancel, ["POST"]),
    ):
        bp.add_url_rule(rule, view_func=view, methods=methods)


def jst(moment: dt.datetime | None) -> str:
    if moment is None:
        return "-"
    return audit.utc(moment).astimezone(JST).strftime("%Y-%m-%d %H:%M")


def page(template: str, status: int = 200, **context: object) -> Response:
    body = render_template(f"customer/{template}", **context)
    return Response(body, status, content_type="text/html; charset=utf-8")


def api_call(
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    apply_at: str | None = None,
    sheet: bytes | None = None,
) -> tuple[int, Any]:
    """The admin API, in-process, as the logged-in customer: its roles, scope and history.
    ``sheet``: a CSV body instead of JSON."""
    caller = Caller(f"customer {g.customer}", ApiRole.CUSTOMER, g.tenant_id)
    content = {"json": body} if sheet is None else {"data": sheet, "content_type": "text/csv"}
    with current_app.app_context():  # a fresh ``g`` for the API's request
        response = current_app.test_client().open(
            API_PREFIX + path,
            method=method,
            **content,
            query_string={"apply_at": apply_at} if apply_at else None,
            headers={"Authorization": "Bearer in-process"},
            environ_overrides={IN_PROCESS_CALLER: caller, PAGE_ACTOR: current()},
        )
    return response.status_code, response.get_json(silent=True)


def _outcome(status: int, answer: Any, done: str) -> None:
    """Flash what happened: done, scheduled for a time, or refused with the API's reason."""
    if status == 202 and isinstance(answer, dict) and "apply_at" in answer:
        flash(t("scheduled", when=jst(dt.datetime.fromisoformat(answer["apply_at"]))))
    elif status < 300:
        flash(done)
    else:
        reason = answer.get("error", str(status)) if isinstance(answer, dict) else str(status)
        flash(t("refused", reason=reason), "error")


def _apply_at() -> str | None:
    """The form's local date and time (Japan) as ISO 8601 with its offset; empty: now."""
    text = request.form.get("apply_at", "").strip()
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return "invalid"  # the API refuses it with its own words
    return moment.replace(tzinfo=moment.tzinfo or JST).isoformat()


def login() -> ResponseReturnValue:
    return login_form(customer=True, home="customer.devices_page", t=t, page=page)


def logout() -> ResponseReturnValue:
    end_session()
    return redirect(url_for("customer.login"))


def _last_fetch(db: Any, device: Device) -> dt.datetime | None:
    for event in timeline(db, device, 50):
        if event.kind == EventKind.FETCH and event.status == 200:
            return event.at
    return None


def devices_page() -> Response:
    cores = provisioner().settings.pbx_readers
    with provisioner().db.session() as db:
        found, _total = devices.list_devices(db, limit=500, offset=0)
        rows = [
            {"device": d, "status": plain_status(db, d, cores), "fetched": _last_fetch(db, d)}
            for d in found
        ]
    return page("devices.html", rows=rows)


def device_page(mac: str) -> Response:
    cores = provisioner().settings.pbx_readers
    status, shown = api_call("GET", f"/devices/{mac}/settings")
    if status != 200:
        return page("message.html", 404, error=t("not_found"))
    with provisioner().db.session() as db:
        try:
            device = devices.get_device(db, mac)
        except NotFound:
            return page("message.html", 404, error=t("not_found"))
        tenant = tenants.get_tenant(db, g.tenant_id)
        numbers = [rep.number for rep in tenant.representative_numbers]
        source, number = devices.caller_id(device)
        context = {
            "device": device,
            "plain": plain_status(db, device, cores),
            "registrations": {line.port: line.state for line in device_lines(db, device, cores)},
            "rings": {ln.port: rings_for_representative(device, ln) for ln in device.lines},
            "numbers": numbers,
            "caller": number if source == "representative" else "direct",
            "fetched": _last_fetch(db, device),
            "settings": [s for s in shown["settings"] if s["name"] in CUSTOMER_SETTINGS],
            "choices": {name: SETTINGS[name].choices for name in CUSTOMER_SETTINGS},
        }
        return page("device.html", **context)


def _back(mac: str) -> Response:
    return redirect(url_for("customer.device_page", mac=mac))  # type: ignore[return-value]


def device_settings(mac: str) -> ResponseReturnValue:
    body = {"caller_id": request.form.get("caller_id", "direct")}
    status, answer = api_call("PATCH", f"/devices/{mac}", body, _apply_at())
    _outcome(status, answer, t("saved"))
    return _back(mac)


def line_settings(mac: str, port: int) -> ResponseReturnValue:
    """A line's name (its account's) and its representative ringing: what changed of the two,
    each one change (dated alike)."""
    status, shown = api_call("GET", f"/devices/{mac}")
    line = (
        next((ln for ln in shown["lines"] if ln["port"] == port), None) if status == 200 else None
    )
    if line is None:
        flash(t("refused", reason=t("not_found")), "error")
        return _back(mac)
    when = _apply_at()
    changes = []
    name = request.form.get("display_name", "")
    if name != line["display_name"]:
        changes.append(("PATCH", f"/accounts/{line['account_id']}", {"display_name": name}))
    rings = request.form.get("ring_representative") == "on"
    if rings != line["ring_representative"]:
        changes.append(("PATCH", f"/devices/{mac}/lines/{port}", {"ring_representative": rings}))
    _apply_all(changes, when)
    return _back(mac)


def phone_settings(mac: str) -> ResponseReturnValue:
    """The phone's own value of each user-facing setting; empty: as the tenant or model says."""
    status, shown = api_call("GET", f"/devices/{mac}/settings")
    if status != 200:
        flash(t("refused", reason=t("not_found")), "error")
        return _back(mac)
    own = {s["name"]: s["value"] for s in shown["settings"] if s["source"] == "device"}
    changes = []
    for name in sorted(CUSTOMER_SETTINGS):
        wanted = request.form.get(name, "")
        path = f"/devices/{mac}/settings/{name}"
        if wanted and wanted != own.get(name):
            changes.append(("PUT", path, {"value": wanted}))
        elif not wanted and name in own:
            changes.append(("DELETE", path, None))
    _apply_all(changes, when=_apply_at())
    return _back(mac)


def _apply_all(changes: list[tuple[str, str, dict[str, Any] | None]], when: str | None) -> None:
    """Each change through the API, its outcome flashed; none: said so."""
    for method, path, body in changes:
        status, answer = api_call(method, path, body, when)
        _outcome(status, answer, t("saved"))
    if not changes:
        flash(t("unchanged"))


def keys_page(mac: str) -> ResponseReturnValue:
    if request.method == "POST":
        position = request.form.get("position", "")
        body = {field: request.form.get(field, "") for field in ("type", "value", "label")}
        if not position.isdigit() or len(position) > 4:
            flash(t("refused", reason=t("bad_position")), "error")
        else:
            status, answer = api_call("PUT", f"/devices/{mac}/keys/{position}", body, _apply_at())
            _outcome(status, answer, t("saved"))
        return redirect(url_for("customer.keys_page", mac=mac))
    status, shown = api_call("GET", f"/devices/{mac}/keys")
    if status != 200:
        return page("message.html", 404, error=t("not_found"))
    return page("keys.html", mac=mac, keys=shown, types=[kind.value for kind in KeyType])


def delete_key(mac: str, position: int) -> ResponseReturnValue:
    status, answer = api_call("DELETE", f"/devices/{mac}/keys/{position}", None, _apply_at())
    _outcome(status, answer, t("saved"))
    return redirect(url_for("customer.keys_page", mac=mac))


def phonebook() -> ResponseReturnValue:
    """The tenant's phonebook; an upload replaces it, all rows or none, and a refused sheet is
    shown with each bad row named (nothing imported)."""
    path = f"/tenants/{g.tenant_id}/phonebook"
    rows: list[str] = []
    status = 200
    if request.method == "POST":
        upload = request.files.get("sheet")
        sheet = upload.read() if upload is not None else b""
        status, answer = api_call("PUT", path, apply_at=_apply_at(), sheet=sheet)
        if status < 300:
            _outcome(status, answer, t("phonebook_imported", entries=answer.get("entries", 0)))
            return redirect(url_for("customer.phonebook"))
        refused = answer.get("rows", []) if isinstance(answer, dict) else []
        rows = [phonebook_row(language(), row) for row in refused]
        if not rows:  # named rows say it themselves; anything else (too large) is said here
            reason = answer.get("error", str(status)) if isinstance(answer, dict) else str(status)
            flash(t("phonebook_refused", reason=reason), "error")
    _found, entries = api_call("GET", path)
    return page("phonebook.html", 422 if rows else status, entries=entries or [], rows=rows)


def resync(mac: str) -> ResponseReturnValue:
    status, answer = api_call("POST", f"/devices/{mac}/actions/resync", {})
    shown = answer.get("answer", "") if isinstance(answer, dict) else ""
    _outcome(status, answer, t("resync_sent", answer=shown))
    return _back(mac)


def power_cycle(mac: str) -> ResponseReturnValue:
    status, answer = api_call("POST", f"/devices/{mac}/actions/power-cycle", {})
    _outcome(status, answer, t("power_cycle_sent"))
    return _back(mac)


def networks() -> ResponseReturnValue:
    if request.method == "POST":
        lines = [line.strip() for line in request.form.get("networks", "").splitlines()]
        body = {"allowed_networks": [line for line in lines if line]}
        status, answer = api_call("PATCH", f"/tenants/{g.tenant_id}", body, _apply_at())
        _outcome(status, answer, t("saved"))
        return redirect(url_for("customer.networks"))
    with provisioner().db.session() as db:
        tenant = tenants.get_tenant(db, g.tenant_id)
        return page("networks.html", networks="\n".join(tenant.allowed_networks))


def history() -> Response:
    offset = request.args.get("offset", "0")
    start = int(offset) if offset.isdigit() and len(offset) < 10 else 0
    with provisioner().db.session() as db:
        records, total = audit.list_records(
            db, audit.AuditFilter(), offset=start, limit=HISTORY_PAGE
        )
        changes = [
            present_change(c) | {"when": jst(c.apply_at), "asked": _readable(c.body)}
            for c in schedule.list_changes(db)
        ]
    older = start + HISTORY_PAGE if start + HISTORY_PAGE < total else None
    return page("history.html", records=records, total=total, changes=changes, older=older)


def _readable(body: str) -> str:
    """A stored JSON body as people read it (its Japanese unescaped)."""
    try:
        return json.dumps(json.loads(body), ensure_ascii=False) if body else ""
    except ValueError:
        return body


def history_csv() -> Response:
    with provisioner().db.session() as db:
        records, _total = audit.list_records(db, audit.AuditFilter(), limit=100_000)
        body = "\ufeff" + audit.to_csv(records)
    return Response(
        body,
        200,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="history.csv"'},
    )


def cancel(change_id: int) -> ResponseReturnValue:
    status, answer = api_call("POST", f"/scheduled-changes/{change_id}/actions/cancel")
    _outcome(status, answer, t("cancelled"))
    return redirect(url_for("customer.history"))
