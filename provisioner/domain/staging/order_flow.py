"""An order's life after its upload: picking, staged, shipped, delivered or cancelled; the
bench's day (open orders by due time, with what each still lacks); lateness and its alert; the
day's shipments for the carrier's bulk-label system (docs/architecture.md, "Orders").

``received`` -> ``picking`` (a slot filled) -> ``staged`` (every slot filled and its device
staged; checked whenever orders are read) -> packed (a step, not a status: the devices are in
the box with the packing slip) -> ``shipped`` (carrier and tracking number, which ships the
devices too) -> ``delivered``. ``cancelled`` from any state before shipped. Every step
is in the order's history with its actor. An open order past its due time is late: the first
time a read finds it so, a ``late`` step is recorded and logged as a warning (the alert), and
it stays counted in the late-orders metric until it ships.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from provisioner import metrics
from provisioner.db.models import Device, DeviceState, utcnow
from provisioner.db.staging import OrderSlot, StagingOrder
from provisioner.domain.delivery.pipeline import Network
from provisioner.domain.errors import Conflict, get_by_id
from provisioner.domain.inventory import lifecycle
from provisioner.domain.staging.bench_view import BenchRow, bench_rows
from provisioner.domain.staging.business_days import JST
from provisioner.domain.staging.orders import record
from provisioner.domain.staging.shipping import check_tracking
from provisioner.secretbox import SecretBox

log = logging.getLogger(__name__)

CLOCK_ACTOR = "clock: due time passed"
STAGED_ACTOR = "bench: every device staged"


class OrderStatus(enum.StrEnum):
    RECEIVED = "received"
    PICKING = "picking"
    STAGED = "staged"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


OPEN = (OrderStatus.RECEIVED, OrderStatus.PICKING, OrderStatus.STAGED)


class Urgency(enum.StrEnum):
    LATE = "late"
    TODAY = "today"
    TOMORROW = "tomorrow"
    LATER = "later"


@dataclass(frozen=True)
class SlotProgress:
    """One device of the order and what it still lacks (keys the pages translate)."""

    position: int
    model: str
    summary: str
    mac: str | None
    missing: tuple[str, ...]  # scan, bind, config, firmware, registered, staged


@dataclass(frozen=True)
class OrderView:
    order: StagingOrder
    urgency: Urgency | None  # None: no due time (an order kept before issue 18)
    slots: tuple[SlotProgress, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        """Every lack of every slot, once each, in the bench's order; then packing."""
        seen = dict.fromkeys(item for slot in self.slots for item in slot.missing)
        if not packed(self.order):
            seen["packed"] = None
        return tuple(seen)


def packed(order: StagingOrder) -> bool:
    return any(event.step == "packed" for event in order.history)


def mark_packed(session: Session, order: StagingOrder, actor: str) -> StagingOrder:
    """The staff packed the staged devices with the packing slip (once; shipping needs it)."""
    if order.status != OrderStatus.STAGED:
        raise Conflict(f"order {order.id} is {order.status}: only a staged order is packed")
    if not packed(order):
        record(order, "packed", actor)
        session.flush()
    return order


def get_order(session: Session, order_id: int) -> StagingOrder:
    return get_by_id(session, StagingOrder, order_id, "order")


def list_orders(
    session: Session, statuses: Sequence[str] | None = None, tenant: str | None = None
) -> list[StagingOrder]:
    """Orders by due time (those without one last), optionally of some statuses or a tenant."""
    query = select(StagingOrder).options(selectinload(StagingOrder.slots))
    if statuses:
        query = query.where(StagingOrder.status.in_(list(statuses)))
    if tenant:
        query = query.where(StagingOrder.tenant == tenant)
    query = query.order_by(StagingOrder.due_at.is_(None), StagingOrder.due_at, StagingOrder.id)
    return list(session.scalars(query))


def bench_day(
    session: Session, staging: Sequence[Network], now: dt.datetime | None = None
) -> list[OrderView]:
    """The open orders by due time, each with its urgency and what its slots still lack."""
    now = now or utcnow()
    found = list_orders(session, [s.value for s in OPEN])
    devices = _devices(session, found)
    rows = {row.mac: row for row in bench_rows(session, staging, list(devices.values()))}
    views = []
    for order in found:
        slots = tuple(_progress(slot, devices.get(slot.mac or ""), rows) for slot in order.slots)
        _advance(order, slots)
        _mark_late(order, now)
        views.append(OrderView(order, _urgency(order, now), slots))
    session.flush()
    return [view for view in views if view.order.status in OPEN]


def sweep(session: Session, now: dt.datetime | None = None) -> list[StagingOrder]:
    """Record the ``late`` step of every open order past due (once each); the late ones."""
    now = now or utcnow()
    late = [o for o in list_orders(session, [s.value for s in OPEN]) if _mark_late(o, now)]
    session.flush()
    return late


def ship_order(
    session: Session,
    box: SecretBox,
    order: StagingOrder,
    carrier: str,
    tracking_number: str,
    actor: str,
    now: dt.datetime | None = None,
) -> StagingOrder:
    """Ship a staged order: its devices become shipped; carrier and number are checked first."""
    number = check_tracking(carrier, tracking_number)
    if order.status != OrderStatus.STAGED:
        raise Conflict(f"order {order.id} is {order.status}: only a staged order ships")
    if not packed(order):
        raise Conflict(f"order {order.id} is not packed yet: pack it with its packing slip first")
    now = now or utcnow()
    devices = _devices(session, [order])
    for slot in order.slots:
        lifecycle.apply(session, box, devices[slot.mac or ""], lifecycle.Action.SHIP, actor)
    order.status, order.carrier, order.tracking_number = OrderStatus.SHIPPED, carrier, number
    order.shipped_at = now
    record(order, "shipped", actor, f"{carrier} {number}")
    session.flush()
    if order.received_at is not None:
        metrics.observe_order_shipped((now - _aware(order.received_at)).total_seconds())
    return order


def set_status(
    session: Session, order: StagingOrder, status: OrderStatus, actor: str, detail: str = ""
) -> StagingOrder:
    """Delivered (after shipped) or cancelled (before it); other steps have their own calls."""
    if status is OrderStatus.DELIVERED and order.status != OrderStatus.SHIPPED:
        raise Conflict(f"order {order.id} is {order.status}: only a shipped order is delivered")
    if status is OrderStatus.CANCELLED and order.status not in OPEN:
        raise Conflict(f"order {order.id} is {order.status}: it can no longer be cancelled")
    if status not in (OrderStatus.DELIVERED, OrderStatus.CANCELLED):
        raise Conflict(f"an order becomes {status} by the bench, not by hand")
    order.status = status
    record(order, status.value, actor, detail)
    session.flush()
    return order


def urgency(order: StagingOrder, now: dt.datetime | None = None) -> Urgency | None:
    return _urgency(order, now or utcnow())


def shipments_csv(session: Session, day: dt.date) -> bytes:
    """The orders shipped that day (JST) for a carrier's bulk-label import: UTF-8 with BOM
    (what spreadsheet programs in Japan expect), one row per order."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=JST)
    query = (
        select(StagingOrder)
        .where(
            StagingOrder.shipped_at >= start,
            StagingOrder.shipped_at < start + dt.timedelta(days=1),
        )
        .order_by(StagingOrder.shipped_at, StagingOrder.id)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["order", "carrier", "tracking_number", "shipped_at", "postal_code", "prefecture",
         "city", "address_lines", "recipient", "phone", "delivery_date", "delivery_band",
         "devices"]
    )  # fmt: skip
    for order in session.scalars(query):
        shipped = _aware(order.shipped_at).astimezone(JST) if order.shipped_at else None
        writer.writerow(
            [order.id, order.carrier, order.tracking_number,
             shipped.isoformat(timespec="minutes") if shipped else "", order.postal_code,
             order.prefecture, order.city, order.address_lines, order.recipient, order.phone,
             order.delivery_date.isoformat() if order.delivery_date else "",
             order.delivery_band or "", len(order.slots)]
        )  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def status_counts(session: Session, now: dt.datetime | None = None) -> tuple[dict[str, int], int]:
    """Orders by status, and how many open ones are past due (for the metrics)."""
    now = (now or utcnow()).astimezone(dt.UTC)
    counts = {s.value: 0 for s in OrderStatus}
    query = select(StagingOrder.status, func.count()).group_by(StagingOrder.status)
    for status, count in session.execute(query):
        counts[status] = count
    late = session.scalar(
        select(func.count())
        .select_from(StagingOrder)
        .where(StagingOrder.status.in_([s.value for s in OPEN]), StagingOrder.due_at < now)
    )
    return counts, int(late or 0)


def _devices(session: Session, found: Sequence[StagingOrder]) -> dict[str, Device]:
    macs = [slot.mac for order in found for slot in order.slots if slot.mac]
    if not macs:
        return {}
    return {d.mac: d for d in session.scalars(select(Device).where(Device.mac.in_(macs)))}


def _progress(slot: OrderSlot, device: Device | None, rows: dict[str, BenchRow]) -> SlotProgress:
    missing: list[str] = []
    if device is None:
        missing.append("scan")
    elif device.state not in (DeviceState.STAGED, DeviceState.SHIPPED):
        row = rows.get(device.mac)
        if device.state is not DeviceState.BOUND:
            missing.append("bind")
        elif row is None or row.config_fetched_at is None:
            missing.append("config")
        if row is not None and row.firmware_at_target is False:
            missing.append("firmware")
        if row is not None and row.registered is False:
            missing.append("registered")
        missing.append("staged")
    return SlotProgress(slot.position, slot.model, slot.summary, slot.mac, tuple(missing))


def _advance(order: StagingOrder, slots: Sequence[SlotProgress]) -> None:
    """Staged once every slot is filled with a staged device (and back, if one is unbound)."""
    ready = bool(slots) and all(not slot.missing for slot in slots)
    if ready and order.status != OrderStatus.STAGED:
        order.status = OrderStatus.STAGED
        record(order, "staged", STAGED_ACTOR)
    elif not ready and order.status == OrderStatus.STAGED:
        order.status = OrderStatus.PICKING
        record(order, "picking", STAGED_ACTOR, "a device is no longer staged")


def _mark_late(order: StagingOrder, now: dt.datetime) -> bool:
    """True when the order is past due; its first such look records the step and warns."""
    if order.due_at is None or _aware(order.due_at) > now or order.status not in OPEN:
        return False
    if not any(event.step == "late" for event in order.history):
        record(order, "late", CLOCK_ACTOR, f"due {_aware(order.due_at).astimezone(JST):%F %H:%M}")
        log.warning("order %s (%s) is late: it was due %s", order.id, order.tenant, order.due_at)
    return True


def _urgency(order: StagingOrder, now: dt.datetime) -> Urgency | None:
    if order.due_at is None:
        return None
    due = _aware(order.due_at)
    if due <= now:
        return Urgency.LATE
    days = (due.astimezone(JST).date() - now.astimezone(JST).date()).days
    return Urgency.TODAY if days <= 0 else Urgency.TOMORROW if days == 1 else Urgency.LATER


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
