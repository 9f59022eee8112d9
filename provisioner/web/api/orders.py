"""Warehouse orders (issue 18): created from an order sheet (CSV, the MAC column empty, with
the address columns), read by every role, shipped, delivered or cancelled by the warehouse.

The order sheet is the one the staging pages take, checked by the same code: all of it or
nothing, each bad row named by its line.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema, abort
from apiflask.fields import Date, DateTime, Integer, List, Nested, String
from apiflask.validators import Length, OneOf
from flask import request
from marshmallow import RAISE

from provisioner.db.staging import StagingOrder
from provisioner.domain.errors import Invalid
from provisioner.domain.inventory.sheet import SheetError
from provisioner.domain.staging import order_flow, orders
from provisioner.domain.staging.order_flow import OrderStatus
from provisioner.domain.staging.shipping import Carrier
from provisioner.web.api.auth import ANY_ROLE, WAREHOUSE, auth, caller
from provisioner.web.api.context import API_PREFIX, provisioner, unit_of_work
from provisioner.web.api.present import Data, utc
from provisioner.web.api.schemas import ImportRefusedOut

bp = APIBlueprint("orders", __name__, url_prefix=API_PREFIX)

ORDERS_PATH = "/orders"
SHEET_BODY = {
    "required": True,
    "description": "An order sheet: UTF-8 CSV, the MAC column empty, with the address columns.",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}


class AddressOut(Schema):
    postal_code = String(required=True, allow_none=True)
    prefecture = String(required=True, allow_none=True)
    city = String(required=True, allow_none=True)
    address_lines = String(required=True, allow_none=True)
    recipient = String(required=True, allow_none=True)
    phone = String(required=True, allow_none=True)


class SlotOut(Schema):
    position = Integer(required=True)
    model = String(required=True)
    summary = String(required=True)
    mac = String(required=True, allow_none=True)


class StepOut(Schema):
    at = DateTime(required=True)
    step = String(required=True)
    actor = String(required=True)
    detail = String(required=True, allow_none=True)


class OrderOut(Schema):
    id = Integer(required=True)
    tenant = String(required=True, allow_none=True)
    status = String(required=True, metadata={"enum": [s.value for s in OrderStatus]})
    urgency = String(required=True, allow_none=True, metadata={"description": "late, today..."})
    received_at = DateTime(required=True, allow_none=True)
    due_at = DateTime(required=True, allow_none=True)
    due_basis = String(required=True, allow_none=True, metadata={"description": "How due_at was"
                       " computed: cut-off, holidays and closed days skipped."})  # fmt: skip
    address = Nested(AddressOut, required=True)
    delivery_date = Date(required=True, allow_none=True)
    delivery_band = String(required=True, allow_none=True)
    carrier = String(required=True, allow_none=True)
    tracking_number = String(required=True, allow_none=True)
    shipped_at = DateTime(required=True, allow_none=True)
    slots = List(Nested(SlotOut), required=True)
    history = List(Nested(StepOut), required=True)


class OrderListOut(Schema):
    items = List(Nested(OrderOut), required=True)


class OrderQuery(Schema):
    status = String(validate=OneOf([s.value for s in OrderStatus]))
    tenant = String(validate=Length(1, 100))


class ShipIn(Schema):
    carrier = String(required=True, validate=OneOf([c.value for c in Carrier]))
    tracking_number = String(required=True, validate=Length(1, 60))


class StepIn(Schema):
    detail = String(load_default="", validate=Length(0, 200))


def present(order: StagingOrder) -> Data:
    return {
        "id": order.id,
        "tenant": order.tenant,
        "status": order.status,
        "urgency": (found := order_flow.urgency(order)) and found.value,
        "received_at": utc(order.received_at),
        "due_at": utc(order.due_at),
        "due_basis": order.due_basis,
        "address": {name: getattr(order, name) for name in AddressOut().fields},
        "delivery_date": order.delivery_date,
        "delivery_band": order.delivery_band,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "shipped_at": utc(order.shipped_at),
        "slots": [
            {"position": s.position, "model": s.model, "summary": s.summary, "mac": s.mac}
            for s in order.slots
        ],
        "history": [
            {"at": utc(e.at), "step": e.step, "actor": e.actor, "detail": e.detail}
            for e in order.history
        ],
    }


@bp.post(ORDERS_PATH)
@bp.auth_required(auth, roles=WAREHOUSE)
@bp.output(OrderOut, status_code=201)
@bp.doc(
    responses={
        403: "Forbidden",
        422: {
            "description": "The sheet is unreadable, or these rows are bad; nothing was kept",
            "content": {"application/json": {"schema": ImportRefusedOut}},
        },
    },
)
def create_order() -> Data:
    """Create an order from an order sheet (CSV body): every row checked, all or nothing."""
    service = provisioner()
    data = request.get_data(cache=False)
    terms = orders.OrderTerms.of(service.settings.order_cutoff, service.settings.order_due_days)
    with unit_of_work() as session:
        try:
            if not orders.is_order(data):
                raise Invalid("an order sheet leaves the mac column empty on every row")
            kept = orders.upload_order(
                session, service.box, data, "api", caller().actor, terms=terms
            )
        except SheetError as exc:
            raise Invalid(str(exc)) from exc
        if kept.order is None:
            abort(
                422,
                f"{len(kept.errors)} bad row(s): nothing was kept; fix them and send it again",
                extra_data={"rows": [{"line": e.line, "reason": e.reason} for e in kept.errors]},
            )
        return present(kept.order)


@bp.get("/orders")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.input(OrderQuery, location="query", unknown=RAISE)
@bp.output(OrderListOut)
def list_orders(query_data: dict[str, Any]) -> Data:
    """Orders by due time, optionally of one status or tenant."""
    status = query_data.get("status")
    with unit_of_work() as session:
        found = order_flow.list_orders(session, [status] if status else None,
                                       query_data.get("tenant"))  # fmt: skip
        return {"items": [present(order) for order in found]}


@bp.get("/orders/<int:order_id>")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.output(OrderOut)
@bp.doc(responses=[404])
def get_order(order_id: int) -> Data:
    """One order: status, due time and how it was computed, address, tracking, history."""
    with unit_of_work() as session:
        return present(order_flow.get_order(session, order_id))


@bp.post("/orders/<int:order_id>/actions/ship")
@bp.auth_required(auth, roles=WAREHOUSE)
@bp.input(ShipIn)
@bp.output(OrderOut)
@bp.doc(responses=[403, 404, 409])
def ship(order_id: int, json_data: dict[str, Any]) -> Data:
    """Ship a staged order (its devices become shipped); the tracking number is checked."""
    with unit_of_work() as session:
        order = order_flow.get_order(session, order_id)
        order_flow.ship_order(session, provisioner().box, order, json_data["carrier"],
                              json_data["tracking_number"], caller().actor)  # fmt: skip
        return present(order)


def _step(order_id: int, status: OrderStatus, detail: str) -> Data:
    with unit_of_work() as session:
        order = order_flow.get_order(session, order_id)
        return present(order_flow.set_status(session, order, status, caller().actor, detail))


@bp.post("/orders/<int:order_id>/actions/deliver")
@bp.auth_required(auth, roles=WAREHOUSE)
@bp.input(StepIn)
@bp.output(OrderOut)
@bp.doc(responses=[403, 404, 409])
def deliver(order_id: int, json_data: dict[str, Any]) -> Data:
    """The carrier reports the order delivered."""
    return _step(order_id, OrderStatus.DELIVERED, json_data["detail"])


@bp.post("/orders/<int:order_id>/actions/cancel")
@bp.auth_required(auth, roles=WAREHOUSE)
@bp.input(StepIn)
@bp.output(OrderOut)
@bp.doc(responses=[403, 404, 409])
def cancel(order_id: int, json_data: dict[str, Any]) -> Data:
    """Cancel an order that has not shipped."""
    return _step(order_id, OrderStatus.CANCELLED, json_data["detail"])
