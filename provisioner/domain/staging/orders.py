"""Order sheets: provisioning sheets with the MAC column left empty, bound a device at a time.

An order arrives before its devices are taken off the shelf. Its rows are grouped into device
slots (a new slot starts where the tenant or the model changes, or where the port does not go
up), checked whole at upload exactly as the sheet import checks a sheet (with placeholder MACs),
and kept. When staff scan a device of a slot's model and pick that slot, the slot's rows are
imported with the device's MAC through the sheet import, which checks them again against the
inventory as it stands then: all of the slot's rows or none.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.db.models import utcnow
from provisioner.db.staging import OrderSlot, StagingOrder
from provisioner.domain.errors import Conflict, get_by_id
from provisioner.domain.inventory.sheet import ImportReport, RowError, decode_sheet, import_sheet
from provisioner.secretbox import SecretBox
from provisioner.vendors import find_model

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
        rows = [row for row in reader if any((v or "").strip() for v in row.values())]
    except (ValueError, csv.Error):
        return False
    return bool(rows) and all(not (row.get("mac") or "").strip() for row in rows)


def upload_order(
    session: Session, box: SecretBox, data: bytes, filename: str, actor: str
) -> OrderUpload:
    """Check the order as an import would, then keep it as slots; nothing kept on an error."""
    text = decode_sheet(data)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    slots: list[_Slot] = []
    errors: list[RowError] = []
    for raw in reader:
        values = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(values.values()):
            continue
        if any("\n" in value or "\r" in value for value in values.values()):
            errors.append(RowError(reader.line_num, "a field holds a line break"))
            continue
        _place(slots, values, reader.line_num)
    filled = _sheet(header, [(row, _placeholder(i)) for i, s in enumerate(slots) for row in s.rows])
    report = import_sheet(session, box, filled, dry_run=True, actor=actor)
    lines = [line for s in slots for line in s.lines]
    errors += [RowError(lines[e.line - 2], e.reason) for e in report.errors]
    if errors:
        return OrderUpload(errors=sorted(errors, key=lambda e: e.line))
    order = StagingOrder(filename=filename[:255], uploaded_by=actor, uploaded_at=utcnow())
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
                rows_csv=_sheet(header, [(row, "") for row in slot.rows]).decode("utf-8"),
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
            .where(OrderSlot.mac.is_(None), OrderSlot.model == model)
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
        session.flush()
    return slot, report


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
