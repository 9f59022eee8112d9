"""``provisioner order``: warehouse orders from the command line (issue 18): import an order
sheet, list and show orders (due time, how it was computed, history), ship, deliver, cancel,
the day's shipments as CSV, and the company's closed days (an admin's, on the server).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from rich.table import Table

from provisioner.cli.context import CliContext, console, pass_cli, service_options
from provisioner.db.staging import StagingOrder
from provisioner.domain.staging import order_flow, orders
from provisioner.domain.staging.business_days import JST
from provisioner.domain.staging.order_flow import OrderStatus
from provisioner.domain.staging.shipping import Carrier

ACTOR = "cli"


@click.group("order")
def order() -> None:
    """Warehouse orders: ship within the business days the settings give."""


def _jst(moment: dt.datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.replace(tzinfo=moment.tzinfo or dt.UTC).astimezone(JST).strftime("%F %H:%M")


def _terms(cli: CliContext) -> orders.OrderTerms:
    return orders.OrderTerms.of(cli.settings.order_cutoff, cli.settings.order_due_days)


@order.command("import")
@click.argument("sheet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@service_options
@pass_cli
def import_order(cli: CliContext, sheet: Path) -> None:
    """Keep an order sheet (MAC column empty, address columns): all rows or none."""
    data = sheet.read_bytes()
    if not orders.is_order(data):
        raise click.ClickException("an order sheet leaves the mac column empty on every row")
    with cli.session() as session:
        kept = orders.upload_order(
            session, cli.service.box, data, sheet.name, ACTOR, terms=_terms(cli)
        )
        if kept.order is None:
            for error in kept.errors:
                console(stderr=True).print(f"line {error.line}: {error.reason}", markup=False)
            sys.exit(1)
        console().print(f"order {kept.order.id}: due {_jst(kept.order.due_at)} JST", markup=False)
        console(stderr=True).print(kept.order.due_basis or "", markup=False)


@order.command("list")
@click.option("--status", type=click.Choice([s.value for s in OrderStatus]))
@click.option("--late", is_flag=True, help="Only open orders past their due time.")
@service_options
@pass_cli
def list_command(cli: CliContext, status: str | None, late: bool) -> None:
    """Orders by due time: status, urgency, tenant, carrier and tracking number."""
    table = Table("id", "tenant", "status", "due (JST)", "urgency", "devices", "tracking")
    with cli.session() as session:
        found = order_flow.sweep(session) if late else order_flow.list_orders(
            session, [status] if status else None
        )  # fmt: skip
        for row in found:
            urgency = order_flow.urgency(row)
            table.add_row(
                str(row.id), row.tenant or "-", row.status, _jst(row.due_at),
                urgency.value if urgency and row.status in order_flow.OPEN else "-",
                str(len(row.slots)),
                f"{row.carrier} {row.tracking_number}" if row.tracking_number else "-",
            )  # fmt: skip
    console().print(table)


@order.command("show")
@click.argument("order_id", type=int)
@service_options
@pass_cli
def show(cli: CliContext, order_id: int) -> None:
    """One order: address, due time and its basis, slots, history with actors."""
    with cli.session() as session:
        found = order_flow.get_order(session, order_id)
        _print(found)


def _print(found: StagingOrder) -> None:
    out = console()
    lines = [
        f"order {found.id}  {found.tenant or '-'}  {found.status}",
        f"received {_jst(found.received_at)}  due {_jst(found.due_at)} JST",
        f"  {found.due_basis or ''}",
        f"ship to 〒{found.postal_code or '-'} {found.prefecture or ''}{found.city or ''}"
        f"{found.address_lines or ''} {found.recipient or ''} {found.phone or ''}",
    ]
    if found.tracking_number:
        lines.append(f"shipped {_jst(found.shipped_at)} {found.carrier} {found.tracking_number}")
    lines += [f"slot {s.position}: {s.model} {s.summary} {s.mac or '-'}" for s in found.slots]
    lines += [f"{_jst(e.at)}  {e.step:<9} {e.actor}  {e.detail or ''}" for e in found.history]
    for line in lines:
        out.print(line, markup=False)


@order.command("ship")
@click.argument("order_id", type=int)
@click.option("--carrier", required=True, type=click.Choice([c.value for c in Carrier]))
@click.option("--tracking", "tracking_number", required=True, metavar="NUMBER")
@service_options
@pass_cli
def ship(cli: CliContext, order_id: int, carrier: str, tracking_number: str) -> None:
    """Ship a staged order (its devices become shipped); the number is checked per carrier."""
    with cli.session() as session:
        found = order_flow.get_order(session, order_id)
        order_flow.ship_order(session, cli.service.box, found, carrier, tracking_number, ACTOR)
        console(stderr=True).print(f"order {order_id} shipped: {carrier} {found.tracking_number}")


@order.command("deliver")
@click.argument("order_id", type=int)
@service_options
@pass_cli
def deliver(cli: CliContext, order_id: int) -> None:
    """Mark a shipped order delivered."""
    with cli.session() as session:
        found = order_flow.get_order(session, order_id)
        order_flow.set_status(session, found, OrderStatus.DELIVERED, ACTOR)


@order.command("cancel")
@click.argument("order_id", type=int)
@click.option("--reason", default="", help="Kept in the order's history.")
@service_options
@pass_cli
def cancel(cli: CliContext, order_id: int, reason: str) -> None:
    """Cancel an order that has not shipped."""
    with cli.session() as session:
        found = order_flow.get_order(session, order_id)
        order_flow.set_status(session, found, OrderStatus.CANCELLED, ACTOR, reason)


@order.command("shipments")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), help="Default: today (JST).")
@service_options
@pass_cli
def shipments(cli: CliContext, day: dt.datetime | None) -> None:
    """The day's shipments as CSV on standard output, for the carrier's bulk-label system."""
    chosen = day.date() if day else dt.datetime.now(JST).date()
    with cli.session() as session:
        sys.stdout.buffer.write(order_flow.shipments_csv(session, chosen))


@order.group("closed-day")
def closed_day() -> None:
    """The company's closed days (year-end, summer): no order counts them as business days."""


@closed_day.command("add")
@click.argument("day", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--reason", required=True)
@service_options
@pass_cli
def closed_add(cli: CliContext, day: dt.datetime, reason: str) -> None:
    """Close the warehouse on DAY (YYYY-MM-DD); orders kept already keep their due time."""
    with cli.session() as session:
        orders.set_closed_day(session, day.date(), reason, ACTOR)


@closed_day.command("remove")
@click.argument("day", type=click.DateTime(["%Y-%m-%d"]))
@service_options
@pass_cli
def closed_remove(cli: CliContext, day: dt.datetime) -> None:
    """Open the warehouse again on DAY."""
    with cli.session() as session:
        orders.remove_closed_day(session, day.date())


@closed_day.command("list")
@service_options
@pass_cli
def closed_list(cli: CliContext) -> None:
    """Every company closed day, with its reason and who set it."""
    table = Table("day", "reason", "set by")
    with cli.session() as session:
        for row in orders.closed_days(session):
            table.add_row(row.day.isoformat(), row.reason, row.set_by)
    console().print(table)
