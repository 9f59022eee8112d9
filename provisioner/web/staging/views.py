"""The staging pages' routes: each checks its form, calls the domain once, and answers a page."""

from __future__ import annotations

import datetime as dt

import segno
from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.db.models import Device, Tenant
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.inventory import accounts, devices, representatives, tenants
from provisioner.domain.inventory.lifecycle import Action
from provisioner.domain.inventory.macs import BadMac, format_mac, normalize_mac
from provisioner.domain.inventory.sheet import RowError, SheetError, import_sheet
from provisioner.domain.keys.layout import Keys, device_keys
from provisioner.domain.staging import auto_stage, bench_view, orders
from provisioner.vendors import all_models, find_model
from provisioner.web.api.context import provisioner
from provisioner.web.staging.guard import actor, end_session, login_form, t

REFUSALS = (Invalid, Conflict, NotFound)


def register(bp: Blueprint) -> None:
    for rule, view, methods in (
        ("/", index, ["GET"]),
        ("/login", login, ["GET", "POST"]),
        ("/logout", logout, ["POST"]),
        ("/bench", bench_page, ["GET"]),
        ("/bench/rows", bench_rows, ["GET"]),
        ("/scan", scan, ["POST"]),
        ("/devices", create_device, ["POST"]),
        ("/devices/<mac>", device_page, ["GET"]),
        ("/devices/<mac>/bind", bind, ["POST"]),
        ("/devices/<mac>/fill", fill_slot, ["POST"]),
        ("/devices/<mac>/ship", ship, ["POST"]),
        ("/devices/<mac>/label", label, ["GET"]),
        ("/sheet", sheet, ["GET", "POST"]),
    ):
        bp.add_url_rule(rule, view_func=view, methods=methods)


def page(template: str, status: int = 200, **context: object) -> Response:
    body = render_template(f"staging/{template}", **context)
    return Response(body, status, content_type="text/html; charset=utf-8")


def index() -> ResponseReturnValue:
    return redirect(url_for("staging.bench_page"))


def login() -> ResponseReturnValue:
    return login_form(customer=False, home="staging.bench_page", t=t, page=page)


def logout() -> ResponseReturnValue:
    end_session()
    return redirect(url_for("staging.login"))


def _rows(db: Session) -> list[bench_view.BenchRow]:
    """Stage what is ready (as the timeline writer does), then the bench as it stands."""
    service = provisioner()
    return auto_stage.refresh_bench(db, service.box, service.staging)


def bench_page(error: str | None = None, status: int = 200, mac: str = "") -> Response:
    with provisioner().db.session() as db:
        rows = _rows(db)
    return page("bench.html", status, rows=rows, error=error, mac=mac, now=_now())


def bench_rows() -> Response:
    with provisioner().db.session() as db:
        rows = _rows(db)
    return page("_rows.html", rows=rows, now=_now())


def scan() -> ResponseReturnValue:
    text = request.form.get("mac", "")
    try:
        mac = normalize_mac(text)
    except BadMac:
        return bench_page(error=t("bad_mac"), status=422, mac=text[:40])
    with provisioner().db.session() as db:
        known = db.scalar(select(Device.id).where(Device.mac == mac)) is not None
    if known:
        return redirect(url_for("staging.device_page", mac=mac))
    return page("create.html", mac=mac, models=all_models())


def create_device() -> ResponseReturnValue:
    text = request.form.get("mac", "")
    model = request.form.get("model", "")
    try:
        mac = normalize_mac(text)
    except BadMac:
        return bench_page(error=t("bad_mac"), status=422, mac=text[:40])
    if find_model(model) is None:
        return page("create.html", 422, mac=mac, models=all_models(), error=t("pick_model"))
    service = provisioner()
    try:
        with service.db.session() as db:
            devices.create_device(db, service.box, mac=mac, model=model)
    except REFUSALS as exc:
        return page("create.html", 409, mac=mac, models=all_models(),
                    error=t("refused", reason=exc))  # fmt: skip
    flash(t("device_created", mac=format_mac(mac)))
    return redirect(url_for("staging.device_page", mac=mac))


def device_page(
    mac: str,
    error: str | None = None,
    status: int = 200,
    row_errors: list[RowError] | None = None,
) -> Response:
    with provisioner().db.session() as db:
        try:
            device = devices.get_device(db, mac)
        except NotFound as exc:
            return page("message.html", 404, message=t("not_found", what=exc))
        tenant_list = tenants.list_tenants(db)
        chosen = _chosen_tenant(db, device)
        model = find_model(device.model)
        ports = list(range(1, (model.lines if model else 0) + 1))
        keys = device_keys(db, device.id, device.tenant_id, model) if model else None
        return page(
            "device.html",
            status,
            device=device,
            keys=keys or Keys((), 0, True),
            tenants=tenant_list,
            chosen=chosen,
            accounts=accounts.list_accounts(db, chosen) if chosen else [],
            ports=ports,
            picked={line.port: line.account_id for line in device.lines},
            ringing={line.port: line.ring_representative for line in device.lines},
            rings={
                line.port: representatives.rings_for_representative(device, line)
                for line in device.lines
            },
            slots=orders.open_slots(db, device.model),
            error=error,
            row_errors=row_errors,
        )


def _chosen_tenant(db: Session, device: Device) -> Tenant | None:
    """The tenant picked in the form (``?tenant=``), else the one the device is bound to."""
    picked = request.args.get("tenant", "")
    if picked.isdigit():
        try:
            return tenants.get_tenant(db, int(picked))
        except NotFound:
            return None
    return device.tenant


def bind(mac: str) -> ResponseReturnValue:
    form = request.form
    tenant_text = form.get("tenant_id", "")
    if not tenant_text.isdigit():
        return device_page(mac, t("pick_tenant"), 422)
    picks: dict[int, int] = {}
    ringing: dict[int, bool | None] = {}
    for key, value in form.items():
        if key.startswith("line_") and value:
            port, account = key.removeprefix("line_"), value
            if not (port.isdigit() and account.isdigit()):
                return device_page(mac, t("bad_choice"), 422)
            picks[int(port)] = int(account)
        elif key.startswith("ring_") and value:
            port = key.removeprefix("ring_")
            if not port.isdigit() or value not in ("yes", "no"):
                return device_page(mac, t("bad_choice"), 422)
            ringing[int(port)] = value == "yes"
    if not picks:
        return device_page(mac, t("pick_account"), 422)
    service = provisioner()
    try:
        with service.db.session() as db:
            device = devices.get_device(db, mac)
            tenant = tenants.get_tenant(db, int(tenant_text))
            devices.act(db, service.box, device, Action.BIND, actor(), tenant)
            for line in list(device.lines):
                if line.port not in picks:
                    devices.clear_line(db, device, line.port)
            for port, account_id in sorted(picks.items()):
                account = accounts.get_account(db, account_id)
                devices.set_line(db, device, port, account,
                                 ring_representative=ringing.get(port))  # fmt: skip
            name = tenant.name
    except REFUSALS as exc:
        return device_page(mac, t("refused", reason=exc), 409)
    flash(t("bound", mac=format_mac(device.mac), tenant=name))
    return redirect(url_for("staging.bench_page"))


def fill_slot(mac: str) -> ResponseReturnValue:
    """Bind the device as one device of an order sheet: the slot's rows, imported with its MAC."""
    slot_text = request.form.get("slot_id", "")
    if not slot_text.isdigit():
        return device_page(mac, t("pick_slot"), 422)
    service = provisioner()
    try:
        with service.db.session() as db:
            device = devices.get_device(db, mac)
            slot, report = orders.fill_slot(
                db, service.box, int(slot_text), device.mac, device.model, actor()
            )
            tenant = slot.tenant  # on errors the import wrote nothing
    except REFUSALS as exc:
        return device_page(mac, t("refused", reason=exc), 409)
    if not report.ok:
        return device_page(mac, t("sheet_errors", count=len(report.errors)), 409, report.errors)
    flash(t("bound", mac=format_mac(mac), tenant=tenant))
    return redirect(url_for("staging.bench_page"))


def ship(mac: str) -> ResponseReturnValue:
    service = provisioner()
    try:
        with service.db.session() as db:
            device = devices.get_device(db, mac)
            devices.act(db, service.box, device, Action.SHIP, actor())
    except REFUSALS as exc:
        return bench_page(error=t("refused", reason=exc), status=409)
    flash(t("shipped", mac=format_mac(device.mac)))
    return redirect(url_for("staging.bench_page"))


def label(mac: str) -> Response:
    with provisioner().db.session() as db:
        try:
            device = devices.get_device(db, mac)
        except NotFound as exc:
            return page("message.html", 404, message=t("not_found", what=exc))
        payload = f"MAC:{device.mac.upper()};MODEL:{device.model}"
        qr = segno.make(payload, error="m")
        svg = Markup(qr.svg_inline(scale=3, omitsize=True))  # noqa: S704 - segno's own SVG
        return page(
            "label.html",
            device=device,
            mac=format_mac(device.mac).upper(),
            qr=svg,
            lines=[(line.port, line.account.extension) for line in device.lines],
        )


def sheet() -> ResponseReturnValue:
    """A sheet naming its MACs is imported; one with the MAC column empty is kept as an order."""
    if request.method == "GET":
        return page("sheet.html")
    upload = request.files.get("sheet")
    if upload is None or not upload.filename:
        return page("sheet.html", 422, error=t("no_file"))
    data = upload.read()
    service = provisioner()
    try:
        with service.db.session() as db:
            if orders.is_order(data):
                terms = orders.OrderTerms.of(
                    service.settings.order_cutoff, service.settings.order_due_days
                )
                kept = orders.upload_order(
                    db, service.box, data, upload.filename, actor(), terms=terms
                )
                errors, done = kept.errors, None
                if kept.order is not None:
                    done = t("order_saved", count=len(kept.order.slots))
            else:
                report = import_sheet(db, service.box, data, actor=actor())
                errors, done = (
                    report.errors,
                    t(
                        "sheet_imported",
                        rows=report.rows,
                        created=report.devices_created,
                        updated=report.devices_updated,
                    ),
                )
    except SheetError as exc:
        return page("sheet.html", 422, error=t("sheet_unreadable", reason=exc))
    if errors:
        return page("sheet.html", 422, row_errors=errors)
    return page("sheet.html", done=done)


_JST = dt.timezone(dt.timedelta(hours=9), "JST")  # the warehouse's clock


def jst(moment: dt.datetime | None) -> str:
    """A stored time (UTC; naive from SQLite) on the warehouse's clock."""
    if moment is None:
        return ""
    return moment.replace(tzinfo=moment.tzinfo or dt.UTC).astimezone(_JST).strftime("%H:%M:%S")


def _now() -> str:
    return jst(dt.datetime.now(dt.UTC))
