"""The orders pages (issue 18): the day's open orders, one order with its history, its pick
list and packing slip (printable; the browser saves them as PDF), "shipped" with carrier and
tracking number, and the day's shipments as CSV for the carrier's bulk-label system.

Thin like the bench's views: the form is checked here, the domain does the work in one unit.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from sqlalchemy.orm import Session

from provisioner.db.staging import StagingOrder
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.inventory.macs import format_mac
from provisioner.domain.staging import order_flow
from provisioner.domain.staging.business_days import JST
from provisioner.domain.staging.shipping import Carrier
from provisioner.web.api.context import provisioner
from provisioner.web.staging.guard import actor, t
from provisioner.web.staging.views import page

REFUSALS = (Invalid, Conflict, NotFound)


def register(bp: Blueprint) -> None:
    for rule, view, methods in (
        ("/orders", orders_page, ["GET"]),
        ("/orders/<int:order_id>", order_page, ["GET"]),
        ("/orders/<int:order_id>/pick", pick_list, ["GET"]),
        ("/orders/<int:order_id>/slip", packing_slip, ["GET"]),
        ("/orders/<int:order_id>/packed", mark_packed, ["POST"]),
        ("/orders/<int:order_id>/ship", ship_order, ["POST"]),
        ("/orders/shipments.csv", shipments, ["GET"]),
    ):
        bp.add_url_rule(rule, view_func=view, methods=methods)
    bp.add_app_template_filter(due_text, "due")
    bp.context_processor(lambda: {"orders_block": orders_block})


def orders_block() -> Markup:
    """The day's open orders as the bench page shows them above its devices."""
    service = provisioner()
    with service.db.session() as db:
        views = order_flow.bench_day(db, service.staging)
        return Markup(render_template("staging/_orders_today.html", orders=views))  # noqa: S704


def orders_page() -> Response:
    return page("orders.html")


def _with_order(order_id: int, render: Callable[[Session, StagingOrder], Response]) -> Response:
    """The order's page as ``render`` makes it, or the not-found page."""
    with provisioner().db.session() as db:
        try:
            order = order_flow.get_order(db, order_id)
        except NotFound as exc:
            return page("message.html", 404, message=t("not_found", what=exc))
        return render(db, order)


def order_page(order_id: int, error: str | None = None, status: int = 200) -> Response:
    def render(db: Session, order: StagingOrder) -> Response:
        views = {v.order.id: v for v in order_flow.bench_day(db, provisioner().staging)}
        return page(
            "order.html",
            status,
            order=order,
            view=views.get(order.id),
            urgency=order_flow.urgency(order),
            carriers=[c.value for c in Carrier],
            error=error,
        )

    return _with_order(order_id, render)


def pick_list(order_id: int) -> Response:
    def render(_db: Session, order: StagingOrder) -> Response:
        counts = sorted(Counter(slot.model for slot in order.slots).items())
        return page("pick_list.html", order=order, counts=counts)

    return _with_order(order_id, render)


def packing_slip(order_id: int) -> Response:
    def render(_db: Session, order: StagingOrder) -> Response:
        devices = [
            (slot.model, format_mac(slot.mac).upper() if slot.mac else "", slot.summary)
            for slot in order.slots
        ]
        return page("packing_slip.html", order=order, devices=devices)

    return _with_order(order_id, render)


def mark_packed(order_id: int) -> ResponseReturnValue:
    try:
        with provisioner().db.session() as db:
            order_flow.mark_packed(db, order_flow.get_order(db, order_id), actor())
    except REFUSALS as exc:
        return order_page(order_id, t("refused", reason=exc), 409)
    flash(t("order_packed", id=order_id))
    return redirect(url_for("staging.order_page", order_id=order_id))


def ship_order(order_id: int) -> ResponseReturnValue:
    carrier = request.form.get("carrier", "")
    number = request.form.get("tracking_number", "")[:60]
    service = provisioner()
    try:
        with service.db.session() as db:
            order = order_flow.get_order(db, order_id)
            order_flow.ship_order(db, service.box, order, carrier, number, actor())
            shipped = order.tracking_number
    except REFUSALS as exc:
        return order_page(order_id, t("refused", reason=exc), 409 if isinstance(exc, Conflict)
                          else 422)  # fmt: skip
    flash(t("order_shipped", id=order_id, carrier=t(f"carrier_{carrier}"), number=shipped))
    return redirect(url_for("staging.bench_page"))


def shipments() -> Response:
    text = request.args.get("day", "")
    try:
        day = dt.date.fromisoformat(text) if text else dt.datetime.now(JST).date()
    except ValueError:
        return Response("day must be YYYY-MM-DD\n", 422, mimetype="text/plain")
    with provisioner().db.session() as db:
        body = order_flow.shipments_csv(db, day)
    response = Response(body, 200, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="shipments-{day}.csv"'
    return response


def due_text(order: StagingOrder) -> str:
    """The due time on the warehouse's clock, e.g. ``2026-12-11 (金) 15:00``."""
    if order.due_at is None:
        return t("unknown")
    due = order.due_at.replace(tzinfo=order.due_at.tzinfo or dt.UTC).astimezone(JST)
    return due.strftime("%Y-%m-%d %H:%M")
