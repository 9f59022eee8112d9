"""Order sheets: provisioning sheets with the MAC column left empty, bound a device at a time.

An order arrives before its devices are taken off the shelf. Its rows are grouped into device
slots (a new slot starts where the tenant or the model changes, or where the port does not go
up), checked whole at upload exactly as the sheet import checks a sheet (with placeholder MACs),
and kept. When staff scan a device of a slot's model and pick that slot, the slot's rows are
imported with the device's MAC through the sheet import, which checks them again against the
inventory as it stands then: all of the slot's rows or none.

An order sheet may carry the order's own columns (issue 18): the shipping address
(:data:`~provisioner.domain.staging.shipping.ADDRESS_COLUMNS`), ``received_at`` (when the
application arrived; the upload's time when absent), ``delivery_date`` and ``delivery_band``.
The address may be given on every row or on the first only; a row with a bad address, another
address or another tenant refuses the whole sheet, naming its line. The due time follows the
business-day calendar (:mod:`provisioner.domain.staging.business_days`); what happens to the
order afterwards is :mod:`provisioner.domain.staging.order_flow`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.db.models import utcnow
from provisioner.db.staging import ClosedDay, OrderEvent, OrderSlot, StagingOrder
from provisioner.domain.errors import Conflict, Invalid, NotFound, get_by_id
from provisioner.domain.inventory.sheet import ImportReport, RowError, decode_sheet, import_sheet
from provisioner.domain.staging.business_days import JST, BusinessCalendar, parse_cutoff
from provisioner.domain.staging.shipping import ADDRESS_COLUMNS, Address, parse_address
from provisioner.secretbox import SecretBox
from provisioner.vendors import find_model

ORDER_COLUMNS = (*ADDRESS_COLUMNS, "received_at", "delivery_date", "delivery_band")
# Delivery time bands as the carriers offer them: morning, or a two-hour band.
_BAND = re.compile(r"午前中|morning|(0?[89]|1\d|2[01])-(1\d|2[01])")


@dataclass(frozen=True)
class OrderTerms:
    """When orders are due: the daily cut-off (JST) and business days to ship in (settings)."""

    cutoff: dt.time = dt.time(15, 0)
    due_days: int = 2

    @classmethod
    def of(cls, cutoff: str, due_days: int) -> OrderTerms:
        """From the settings' ``order_cutoff`` and ``order_due_days``."""
        return cls(parse_cutoff(cutoff), due_days)


def load_calendar(session: Session, terms: OrderTerms) -> BusinessCalendar:
    """The calendar with the company's closed days as the admins set them now."""
    return BusinessCalendar(session.scalars(select(ClosedDay.day)).all(), terms.cutoff)


def record(order: StagingOrder, step: str, actor: str, detail: str | None = None) -> None:
    """One step in the order's history, with who took it."""
    order.history.append(OrderEvent(step=step, actor=actor[:100], detail=(detail or "")[:500]))


@dataclass
class _OrderFields:
    """The order's own columns, as the first row that gives them says."""

    address: Address | None = None
    received_at: dt.datetime | None = None
    delivery_date: dt.date | None = None
    delivery_band: str | None = None
    tenant: str | None = None


# Placeholders for the upload's check: locally administered unicast, never a vendor's MAC.
_PLACEHOLDER = 0x02_5A_00_00_00_00


@dataclass
class OrderUpload:
    order: StagingOrder | None = None
    errors: list[RowError] = field(default_factory=list)


@dataclass
class _Slot:
    first_line: int
    rows: list[dict[str, str]]
    lines: list[int]


def is_order(data: bytes) -> bool:
    """True for a sheet whose every row leaves the MAC empty (the sheet import takes the rest)."""
    try:
        reader = csv.DictReader(io.StringIO(decode_sheet(data), newline=""))
        # Fields past the header come under the key None, as a list: not a cell to read.
        rows = [r for r in reader if any((v or "").strip() for k, v in r.items() if k is not None)]
    except (ValueError, csv.Error):
        return False
    return bool(rows) and all(not (row.get("mac") or "").strip() for row in rows)


def upload_order(
    session: Session,
    box: SecretBox,
    data: bytes,
    filename: str,
    actor: str,
    terms: OrderTerms | None = None,
    now: dt.datetime | None = None,
) -> OrderUpload:
    """Check the order as an import would, then keep it as slots; nothing kept on an error."""
    text = decode_sheet(data)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    slots: list[_Slot] = []
    errors: list[RowError] = []
    fields = _OrderFields()
    addressed = any(name in header for name in ADDRESS_COLUMNS)
    for raw in reader:
        if None in raw:
            errors.append(RowError(reader.line_num, "more fields than the header has columns"))
            continue
        values = {k: (v or "").strip() for k, v in raw.items()}
        if not any(values.values()):
            continue
        if any("\n" in value or "\r" in value for value in values.values()):
            errors.append(RowError(reader.line_num, "a field holds a line break"))
            continue
        try:
            _order_fields(fields, values, addressed)
        except Invalid as exc:
            errors.append(RowError(reader.line_num, str(exc)))
            continue
        _place(slots, values, reader.line_num)
    if addressed and fields.address is None and not errors:
        errors.append(RowError(2, "no row gives the shipping address"))
    sheet_header = [name for name in header if name not in ORDER_COLUMNS]
    placed = [(row, _placeholder(i)) for i, s in enumerate(slots) for row in s.rows]
    report = import_sheet(session, box, _sheet(sheet_header, placed), dry_run=True, actor=actor)
    lines = [line for s in slots for line in s.lines]
    errors += [RowError(lines[e.line - 2], e.reason) for e in report.errors]
    if errors:
        return OrderUpload(errors=sorted(errors, key=lambda e: e.line))
    now = now or utcnow()
    received = fields.received_at or now
    terms = terms or OrderTerms()
    due = load_calendar(session, terms).due(received, terms.due_days)
    order = StagingOrder(
        filename=filename[:255],
        uploaded_by=actor,
        uploaded_at=now,
        tenant=fields.tenant or (slots[0].rows[0]["tenant"] if slots else None),
        status="received",
        received_at=received.astimezone(dt.UTC),  # SQLite keeps no offset: store UTC
        due_at=due.due_at.astimezone(dt.UTC),
        due_basis=due.basis[:500],
        delivery_date=fields.delivery_date,
        delivery_band=fields.delivery_band,
        **(vars(fields.address) if fields.address else {}),
    )
    record(order, "received", actor, f"sheet {filename[:100]}; due {due.basis}")
    for position, slot in enumerate(slots, start=1):
        first = slot.rows[0]
        order.slots.append(
            OrderSlot(
                position=position,
                tenant=first["tenant"],
                model=_model_name(first["model"]),
                summary=" ".join(
                    f"{r['port']}:{r['extension']} {r['display_name']}" for r in slot.rows
                )[:500],
                first_line=slot.first_line,
                rows_csv=_sheet(sheet_header, [(row, "") for row in slot.rows]).decode("utf-8"),
            )
        )
    session.add(order)
    session.flush()
    return OrderUpload(order=order)


def open_slots(session: Session, model: str) -> list[OrderSlot]:
    """The slots no device has filled yet, for devices of this model, oldest order first."""
    return list(
        session.scalars(
            select(OrderSlot)
            .join(StagingOrder)
            .where(OrderSlot.mac.is_(None), OrderSlot.model == model)
            .where(StagingOrder.status.in_(("received", "picking")))  # not cancelled
            .order_by(OrderSlot.order_id, OrderSlot.position)
        )
    )


def fill_slot(
    session: Session, box: SecretBox, slot_id: int, mac: str, model: str, actor: str
) -> tuple[OrderSlot, ImportReport]:
    """Import the slot's rows with this device's MAC; the report's lines are the upload's."""
    slot = get_by_id(session, OrderSlot, slot_id, "order slot")
    if slot.mac is not None:
        raise Conflict(f"that order slot was filled by device {slot.mac} already; pick another")
    if slot.model != model:
        raise Conflict(f"that order slot wants a {slot.model}; this device is a {model}")
    reader = csv.DictReader(io.StringIO(slot.rows_csv, newline=""))
    header = list(reader.fieldnames or [])
    rows = list(reader)
    report = import_sheet(session, box, _sheet(header, [(row, mac) for row in rows]), actor=actor)
    report.errors = [RowError(slot.first_line + e.line - 2, e.reason) for e in report.errors]
    if report.ok:
        slot.mac, slot.bound_at = mac, utcnow()
        order = slot.order
        if order.status == "received":
            order.status = "picking"
        record(order, "picked", actor, f"slot {slot.position} ({slot.model}): {mac}")
        session.flush()
    return slot, report


def _order_fields(fields: _OrderFields, values: dict[str, str], addressed: bool) -> None:
    """Take the order's own columns from this row, or refuse the row (Invalid says why)."""
    if addressed:
        if fields.tenant is not None and values.get("tenant") != fields.tenant:
            raise Invalid("one order ships to one tenant: this row names another")
        fields.tenant = values.get("tenant")
        if any(values.get(name) for name in ADDRESS_COLUMNS):
            address = parse_address(values)
            if fields.address is not None and address != fields.address:
                raise Invalid("one order ships to one address: this row gives another")
            fields.address = address
    if values.get("received_at") and fields.received_at is None:
        fields.received_at = _received_at(values["received_at"])
    if values.get("delivery_date") and fields.delivery_date is None:
        try:
            fields.delivery_date = dt.date.fromisoformat(values["delivery_date"])
        except ValueError as exc:
            raise Invalid("delivery_date must be YYYY-MM-DD") from exc
    band = values.get("delivery_band")
    if band and fields.delivery_band is None:
        if not _BAND.fullmatch(band):
            raise Invalid("delivery_band must be 午前中 (morning) or hours like 14-16")
        fields.delivery_band = band


def _received_at(text: str) -> dt.datetime:
    """ISO 8601; without an offset it is the warehouse's clock (JST)."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise Invalid("received_at must be YYYY-MM-DDTHH:MM (JST unless offset)") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=JST)


def _place(slots: list[_Slot], values: dict[str, str], line: int) -> None:
    """A new slot where the tenant or model changes or the port does not go up."""
    last = slots[-1] if slots else None
    if last is not None:
        before = last.rows[-1]
        same = (before.get("tenant"), before.get("model")) == (values.get("tenant"),
                                                               values.get("model"))  # fmt: skip
        if same and _port(values) > _port(before):
            last.rows.append(values)
            last.lines.append(line)
            return
    slots.append(_Slot(line, [values], [line]))


def _port(values: dict[str, str]) -> int:
    text = values.get("port", "")
    return int(text) if text.isdigit() else 0


def _model_name(text: str) -> str:
    found = find_model(text)
    return found.model if found else text


def _placeholder(index: int) -> str:
    return f"{_PLACEHOLDER + index:012x}"


def _sheet(header: list[str], rows: list[tuple[dict[str, str], str]]) -> bytes:
    """A sheet with the given MAC put into each row."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row, mac in rows:
        writer.writerow({**row, "mac": mac})
    return out.getvalue().encode("utf-8")


def closed_days(session: Session) -> list[ClosedDay]:
    return list(session.scalars(select(ClosedDay).order_by(ClosedDay.day)))


def set_closed_day(session: Session, day: dt.date, reason: str, actor: str) -> ClosedDay:
    """Close the warehouse that day (year-end, summer); orders received later count around it.

    Orders kept already keep their due time: it was promised when they came.
    """
    if not reason.strip() or len(reason) > 100:
        raise Invalid("a closed day needs a reason of 1 to 100 characters")
    found = session.get(ClosedDay, day)
    if found is None:
        found = ClosedDay(day=day, reason=reason.strip(), set_by=actor[:100])
        session.add(found)
    else:
        found.reason, found.set_by = reason.strip(), actor[:100]
    session.flush()
    return found


def remove_closed_day(session: Session, day: dt.date) -> None:
    found = session.get(ClosedDay, day)
    if found is None:
        raise NotFound(f"{day} is not a company closed day")
    session.delete(found)
    session.flush()
