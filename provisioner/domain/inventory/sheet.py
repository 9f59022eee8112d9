"""The provisioning sheet: one CSV row per device line, imported all rows or none.

Columns (docs/architecture.md, 'Provisioning sheet'):
``tenant,extension,direct_number,display_name,mac,model,port``, plus
the optional ``representative_number`` (a number the tenant holds, shared by devices),
``caller_id`` (``direct`` or ``representative``: which number the device presents),
``fax`` (``t38`` or ``passthrough``, ATA ports only) and ``ring_representative`` (``yes`` or
``no``: whether this line rings for the tenant's representative numbers; empty: yes, except on
a FAX port).

Every row is checked first, against the sheet and against the inventory; only a sheet with no
error at all is written, in one transaction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from provisioner.db.models import (
    Account,
    Device,
    DeviceEvent,
    DeviceLine,
    DeviceState,
    RepresentativeNumber,
    Tenant,
    TenantStatus,
)
from provisioner.domain.errors import Invalid
from provisioner.domain.inventory import lifecycle, tenants
from provisioner.domain.inventory.accounts import (
    check_display_name,
    check_extension,
    new_account,
    new_sip_username,
)
from provisioner.domain.inventory.devices import check_port, fax_mode, new_device
from provisioner.domain.inventory.lifecycle import Action
from provisioner.domain.inventory.macs import BadMac, normalize_mac
from provisioner.domain.inventory.patterns import phone_number
from provisioner.domain.inventory.representatives import over_limit
from provisioner.domain.timeline import EventKind
from provisioner.secretbox import SecretBox
from provisioner.vendors import find_model
from provisioner.vendors.base import FaxMode, ModelInfo

REQUIRED_COLUMNS = ("tenant", "extension", "direct_number", "display_name", "mac", "model", "port")
OPTIONAL_COLUMNS = ("representative_number", "caller_id", "fax", "ring_representative")
_YES, _NO = ("yes", "true", "1", "on"), ("no", "false", "0", "off")

Progress = Callable[[int], None]


class SheetError(Invalid):
    """The file as a whole cannot be read (encoding, header)."""


@dataclass(frozen=True)
class RowError:
    line: int  # line number in the file (the header is line 1)
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class SheetRow:
    line: int
    tenant: str
    extension: str
    direct_number: str | None
    display_name: str
    mac: str
    model: ModelInfo
    port: int
    representative_number: str | None
    caller_id: str  # "direct" or "representative"
    fax: FaxMode | None
    ring_representative: bool | None  # None: the default (not on a FAX port)


@dataclass
class ImportReport:
    rows: int = 0
    tenants_created: int = 0
    accounts_created: int = 0
    devices_created: int = 0
    devices_updated: int = 0
    representative_numbers_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def decode_sheet(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SheetError(
            f"the file is not UTF-8 (byte {exc.start}); in Excel save it as 'CSV UTF-8'"
        ) from exc


def read_sheet(data: bytes) -> tuple[list[SheetRow], list[RowError]]:
    """Parse and check each row on its own (formats, model, port range)."""
    reader = csv.DictReader(io.StringIO(decode_sheet(data), newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise SheetError(f"the header lacks the column(s) {', '.join(missing)}")
    unknown = [n for n in header if n not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise SheetError(f"unknown column(s) {', '.join(unknown)}")
    reader.fieldnames = header
    rows: list[SheetRow] = []
    errors: list[RowError] = []
    for raw in reader:
        line = reader.line_num
        if None in raw:
            errors.append(RowError(line, "more fields than the header has columns"))
            continue
        values = {k: (v or "").strip() for k, v in raw.items()}
        if not any(values.values()):
            continue
        try:
            rows.append(_parse_row(line, values))
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
    return rows, errors


def _parse_row(line: int, values: dict[str, str]) -> SheetRow:
    tenant = tenants.check_name(values["tenant"])
    extension = check_extension(values["extension"])
    direct_number = phone_number(values["direct_number"], "direct_number")
    display_name = check_display_name(values["display_name"])
    try:
        mac = normalize_mac(values["mac"])
    except BadMac as exc:
        raise ValueError(str(exc)) from exc
    model = find_model(values["model"])
    if model is None:
        raise ValueError(f"unknown model {values['model']!r}")
    port_text = values["port"]
    if not port_text.isdigit():
        raise ValueError(f"port {port_text!r} must be a whole number")
    port = check_port(model, int(port_text))
    representative = phone_number(values.get("representative_number", ""), "representative")
    caller_id = values.get("caller_id", "").lower() or "direct"
    if caller_id not in ("direct", "representative"):
        raise ValueError(f"caller_id {caller_id!r} must be 'direct' or 'representative'")
    if caller_id == "representative" and representative is None:
        raise ValueError("caller_id 'representative' needs a representative_number on the row")
    fax = fax_mode(model, values.get("fax", "").lower())
    ring = values.get("ring_representative", "").strip().lower()
    if ring and ring not in _YES + _NO:
        raise ValueError(f"ring_representative {ring!r} must be yes, no or empty")
    return SheetRow(
        line, tenant, extension, direct_number, display_name, mac, model, port,
        representative, caller_id, fax, (ring in _YES) if ring else None,
    )  # fmt: skip


def import_sheet(
    session: Session,
    box: SecretBox,
    data: bytes,
    *,
    dry_run: bool = False,
    actor: str = "import",
    progress: Progress | None = None,
    create_owners: bool = True,
) -> ImportReport:
    """Check the whole sheet, then write it in the caller's transaction, or write nothing.

    On errors or ``dry_run`` nothing is added to the session; the caller's transaction stays
    clean. ``progress`` is called with the number of rows handled since the last call. Without
    ``create_owners`` a row may only name tenants, accounts and representative numbers that
    exist: a caller who may not create them directly cannot create them through a sheet.
    """
    try:
        rows, errors = read_sheet(data)
    except csv.Error as exc:  # e.g. a field past the csv module's 128 KiB limit
        raise SheetError(f"the file is not a readable CSV sheet ({exc})") from exc
    report = ImportReport(rows=len(rows) + len(errors), errors=errors)
    plan = _Plan(session, rows)
    report.errors.extend(plan.check(progress))
    if not create_owners:
        report.errors.extend(plan.creations())
    report.errors.sort(key=lambda e: e.line)
    plan.count(report)
    if report.errors or dry_run:
        return report
    plan.write(box, actor, progress)
    report.written = True
    return report


class _Plan:
    """The sheet grouped by tenant, account and device, with the inventory it touches."""

    def __init__(self, session: Session, rows: list[SheetRow]) -> None:
        self.session = session
        self.rows = rows
        names = {row.tenant for row in rows}
        self.tenants = {
            t.name: t
            for t in session.scalars(
                select(Tenant)
                .where(Tenant.name.in_(names))
                .options(selectinload(Tenant.accounts), selectinload(Tenant.representative_numbers))
            )
        }
        macs = {row.mac for row in rows}
        self.devices = {
            d.mac: d
            for d in session.scalars(
                select(Device).where(Device.mac.in_(macs)).options(selectinload(Device.lines))
            )
        }
        numbers = {r.direct_number for r in rows if r.direct_number}
        self.numbers_in_use = {
            a.direct_number: a
            for a in session.scalars(select(Account).where(Account.direct_number.in_(numbers)))
        }
        reps = {r.representative_number for r in rows if r.representative_number}
        self.reps_in_use = {
            rep.number: rep
            for rep in session.scalars(
                select(RepresentativeNumber).where(RepresentativeNumber.number.in_(reps))
            )
        }

    def check(self, progress: Progress | None) -> list[RowError]:
        errors: list[RowError] = []
        accounts: dict[tuple[str, str], SheetRow] = {}
        numbers: dict[str, SheetRow] = {}
        ports: dict[tuple[str, int], SheetRow] = {}
        device_rows: dict[str, SheetRow] = {}
        callers: dict[str, SheetRow] = {}
        for row in self.rows:
            reason = (
                self._account_conflict(row, accounts, numbers)
                or self._device_conflict(row, ports, device_rows, callers)
                or self._tenant_conflict(row)
            )
            if reason:
                errors.append(RowError(row.line, reason))
            if progress:
                progress(1)
        errors.extend(self._representative_errors())
        return errors

    def _account_conflict(
        self,
        row: SheetRow,
        accounts: dict[tuple[str, str], SheetRow],
        numbers: dict[str, SheetRow],
    ) -> str | None:
        key = (row.tenant, row.extension)
        first = accounts.setdefault(key, row)
        if (first.direct_number, first.display_name) != (row.direct_number, row.display_name):
            return (
                f"duplicate extension {row.extension} for {row.tenant} with another "
                f"direct number or display name than line {first.line}"
            )
        existing = self._existing_account(row)
        if existing and (existing.direct_number, existing.display_name) != (
            row.direct_number,
            row.display_name,
        ):
            return (
                f"extension {row.extension} of {row.tenant} exists with direct number "
                f"{existing.direct_number or '(none)'} and name {existing.display_name!r}; "
                "change it in the inventory, not in a sheet"
            )
        if row.direct_number:
            holder = numbers.setdefault(row.direct_number, row)
            if (holder.tenant, holder.extension) != key:
                return f"direct number {row.direct_number} is also on line {holder.line}"
            owner = self.numbers_in_use.get(row.direct_number)
            if owner and owner is not existing:
                return f"direct number {row.direct_number} belongs to another account"
        return None

    def _device_conflict(
        self,
        row: SheetRow,
        ports: dict[tuple[str, int], SheetRow],
        device_rows: dict[str, SheetRow],
        callers: dict[str, SheetRow],
    ) -> str | None:
        first_port = ports.setdefault((row.mac, row.port), row)
        if first_port is not row:
            return f"same port {row.port} of {row.mac} twice (also line {first_port.line})"
        first = device_rows.setdefault(row.mac, row)
        if first.model != row.model or first.tenant != row.tenant:
            return f"device {row.mac} has another model or tenant on line {first.line}"
        if row.caller_id == "representative":
            chosen = callers.setdefault(row.mac, row)
            if chosen.representative_number != row.representative_number:
                return f"device {row.mac} presents another caller ID on line {chosen.line}"
        existing = self.devices.get(row.mac)
        if existing is None:
            return None
        if existing.model != row.model.model:
            return f"device {row.mac} is in the inventory as a {existing.model}"
        tenant = self.tenants.get(row.tenant)
        if existing.tenant_id is not None and (tenant is None or existing.tenant_id != tenant.id):
            return f"device {row.mac} is bound to another tenant"
        if existing.state is DeviceState.RETIRED:
            return f"device {row.mac} is retired"
        return None

    def _tenant_conflict(self, row: SheetRow) -> str | None:
        tenant = self.tenants.get(row.tenant)
        if tenant is None:
            return None
        return tenants.refusal(tenant, direct_number=row.direct_number)

    def _representative_errors(self) -> list[RowError]:
        errors: list[RowError] = []
        by_tenant: dict[str, list[SheetRow]] = {}
        for row in self.rows:
            by_tenant.setdefault(row.tenant, []).append(row)
        for name, rows in by_tenant.items():
            tenant = self.tenants.get(name)
            held = {rep.number for rep in tenant.representative_numbers} if tenant else set()
            extensions = {a.extension for a in tenant.accounts} if tenant else set()
            extensions |= {row.extension for row in rows}
            for row in rows:
                number = row.representative_number
                if number is None:
                    continue
                owner = self.reps_in_use.get(number)
                if owner is not None and (tenant is None or owner.tenant_id != tenant.id):
                    errors.append(RowError(row.line, f"representative {number} is another's"))
                    continue
                if number in held:
                    continue
                held.add(number)
                reason = over_limit(name, len(held), len(extensions))
                if reason is None:
                    continue
                errors.append(RowError(row.line, f"representative number {number}: {reason}"))
        return errors

    def creations(self) -> list[RowError]:
        """A row for each tenant, account or representative number the sheet would create."""
        errors = []
        for row in self.rows:
            tenant = self.tenants.get(row.tenant)
            held = {rep.number for rep in tenant.representative_numbers} if tenant else set()
            if tenant is None:
                reason = f"tenant {row.tenant!r} does not exist"
            elif self._existing_account(row) is None:
                reason = f"extension {row.extension} of {row.tenant} does not exist"
            elif row.representative_number and row.representative_number not in held:
                reason = f"representative number {row.representative_number} is not {row.tenant}'s"
            else:
                continue
            errors.append(RowError(row.line, f"{reason}: only an administrator creates one"))
        return errors

    def _existing_account(self, row: SheetRow) -> Account | None:
        tenant = self.tenants.get(row.tenant)
        if tenant is None:
            return None
        return next((a for a in tenant.accounts if a.extension == row.extension), None)

    def count(self, report: ImportReport) -> None:
        report.tenants_created = len({r.tenant for r in self.rows} - set(self.tenants))
        report.accounts_created = len(
            {(r.tenant, r.extension) for r in self.rows if self._existing_account(r) is None}
        )
        macs = {r.mac for r in self.rows}
        report.devices_updated = len(macs & set(self.devices))
        report.devices_created = len(macs) - report.devices_updated
        held = {
            rep.number for tenant in self.tenants.values() for rep in tenant.representative_numbers
        }
        report.representative_numbers_created = len(
            {r.representative_number for r in self.rows if r.representative_number} - held
        )

    def write(self, box: SecretBox, actor: str, progress: Progress | None) -> None:
        session = self.session
        accounts: dict[tuple[str, str], Account] = {}
        reps: dict[str, RepresentativeNumber] = {}
        usernames: set[str] = set()
        for known in self.tenants.values():
            for account in known.accounts:
                accounts[(known.name, account.extension)] = account
            for rep in known.representative_numbers:
                reps[rep.number] = rep
        by_device: dict[str, list[SheetRow]] = {}
        for row in self.rows:
            tenant = self.tenants.get(row.tenant)
            if tenant is None:
                tenant = self.tenants[row.tenant] = Tenant(
                    name=row.tenant, status=TenantStatus.ACTIVE, allowed_networks=[]
                )
                session.add(tenant)
            key = (row.tenant, row.extension)
            if key not in accounts:
                accounts[key] = new_account(
                    box,
                    tenant,
                    row.extension,
                    row.direct_number,
                    row.display_name,
                    new_sip_username(usernames),
                )
                session.add(accounts[key])
            number = row.representative_number
            if number and number not in reps:
                reps[number] = RepresentativeNumber(tenant=tenant, number=number)
                session.add(reps[number])
            by_device.setdefault(row.mac, []).append(row)
        for mac, rows in by_device.items():
            self._write_device(mac, rows, accounts, reps, box, actor)
            if progress:
                progress(len(rows))

    def _write_device(
        self,
        mac: str,
        rows: list[SheetRow],
        accounts: dict[tuple[str, str], Account],
        reps: dict[str, RepresentativeNumber],
        box: SecretBox,
        actor: str,
    ) -> None:
        first = rows[0]
        device = self.devices.get(mac)
        if device is None:
            device = new_device(box, mac, first.model)
            self.session.add(device)
        tenant = self.tenants[first.tenant]
        if device.state is DeviceState.IN_STOCK or device.tenant is not tenant:
            lifecycle.apply(self.session, box, device, Action.BIND, actor, tenant)
        chosen = next((r for r in rows if r.caller_id == "representative"), None)
        device.caller_id_number = reps[chosen.representative_number] if chosen else None  # type: ignore[index]
        # Update lines in place: replacing the list would INSERT a port before the old
        # row for that port is DELETEd, which the (device, port) key refuses.
        existing = {line.port: line for line in device.lines}
        wanted = {row.port: row for row in rows}
        for port, gone in existing.items():
            if port not in wanted:
                device.lines.remove(gone)
        for port, row in sorted(wanted.items()):
            line = existing.get(port)
            if line is None:
                line = DeviceLine(port=port)
                device.lines.append(line)
            line.account = accounts[(row.tenant, row.extension)]
            line.fax_mode = row.fax.value if row.fax else None
            line.ring_representative = row.ring_representative
        extensions = ", ".join(f"{row.port}:{row.extension}" for row in rows)
        self.session.add(
            DeviceEvent(
                device=device,
                kind=EventKind.IMPORT,
                actor=actor,
                detail=f"bound to {first.tenant}; lines {extensions}",
            )
        )


def sheet_rows(rows: Iterable[dict[str, str]]) -> bytes:
    """A sheet as bytes from dictionaries (used by the demo and the tests)."""
    out = io.StringIO()
    columns = list(REQUIRED_COLUMNS) + list(OPTIONAL_COLUMNS)
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: row.get(name, "") for name in columns})
    return out.getvalue().encode("utf-8")
