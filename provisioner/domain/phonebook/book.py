"""A tenant's phonebook: imported from CSV, all rows or none, served in reading order.

The sheet is UTF-8 CSV (a byte-order mark is fine) with the header
``name,reading,group,office,mobile,home``: a name (up to 100 characters), its reading in kana
(hiragana or katakana; it decides the order), an optional group, and at least one number. An
import replaces the tenant's whole phonebook; a sheet with any bad row changes nothing, and
every bad row is named by its line. The tenant's own extensions are added to what the phones
get (group ``内線``), unless an imported entry already has that number.

Order: by reading (katakana folded to hiragana, NFKC), then by name; an entry without a
reading sorts by its name, after those with one.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from provisioner.db.audit import record_replaced
from provisioner.db.models import Account, Tenant
from provisioner.db.phonebook import PhonebookEntry as Row
from provisioner.domain.errors import Invalid
from provisioner.vendors.base import PhonebookEntry

COLUMNS = ("name", "reading", "group", "office", "mobile", "home")
NUMBER_KINDS = ("office", "mobile", "home")
EXTENSION_GROUP = "内線"
MAX_ENTRIES = 20_000
_NUMBER = re.compile(r"\+?[0-9*#]{1,32}")
_KANA = re.compile(r"[\u3041-\u309f\u30a0-\u30ff\u3000 ・ー]+")  # hiragana, katakana, spaces
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PhonebookError(Invalid):
    """A sheet that cannot be imported; ``errors`` names each bad row by its line."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors[:20]) + (" ..." if len(errors) > 20 else ""))


@dataclass(frozen=True)
class ImportReport:
    tenant: str
    entries: int


def _text(value: str, what: str, limit: int) -> str:
    value = value.strip()
    if _CONTROL.search(value):
        raise ValueError(f"{what} has a control character")
    if len(value) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    return value


def _number(value: str, kind: str) -> str:
    number = re.sub(r"[\s()-]", "", value)
    if not _NUMBER.fullmatch(number):
        raise ValueError(f"{kind} {value!r} is not a phone number (digits, * # and a leading +)")
    return number


def _entry(row: dict[str, str]) -> PhonebookEntry:
    name = _text(row.get("name") or "", "name", 100)
    if not name:
        raise ValueError("name is empty")
    reading = _text(row.get("reading") or "", "reading", 100)
    if reading and not _KANA.fullmatch(reading):
        raise ValueError(f"reading {reading!r} is not kana")
    group = _text(row.get("group") or "", "group", 50)
    numbers = tuple(
        (kind, _number(row[kind], kind)) for kind in NUMBER_KINDS if (row.get(kind) or "").strip()
    )
    if not numbers:
        raise ValueError("no number (office, mobile or home)")
    return PhonebookEntry(name, reading, group, numbers)


def parse_sheet(data: bytes) -> list[PhonebookEntry]:
    """Every entry of the sheet, or PhonebookError naming each bad row (and a bad header)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PhonebookError([f"the sheet is not UTF-8 (byte {error.start})"]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = tuple(reader.fieldnames or ())
    unknown = [name for name in header if name not in COLUMNS]
    if "name" not in header or unknown or not any(kind in header for kind in NUMBER_KINDS):
        raise PhonebookError([f"the header must be {','.join(COLUMNS)} (got {','.join(header)})"])
    entries, errors = [], []
    for row in reader:
        line = reader.line_num
        if None in row:
            errors.append(f"line {line}: more fields than the header")
            continue
        try:
            entries.append(_entry(row))
        except ValueError as error:
            errors.append(f"line {line}: {error}")
    if len(entries) > MAX_ENTRIES:
        errors.append(f"the sheet has {len(entries)} entries; at most {MAX_ENTRIES}")
    if errors:
        raise PhonebookError(errors)
    return entries


def import_phonebook(session: Session, tenant: Tenant, data: bytes) -> ImportReport:
    """Replace the tenant's phonebook with the sheet's entries, all or none."""
    entries = parse_sheet(data)
    before = session.scalar(select(func.count()).where(Row.tenant_id == tenant.id)) or 0
    session.execute(delete(Row).where(Row.tenant_id == tenant.id))
    if entries:
        session.execute(
            insert(Row),
            [
                {"tenant_id": tenant.id, "name": e.name, "reading": e.reading, "group": e.group,
                 "numbers": [list(pair) for pair in e.numbers]}
                for e in entries
            ],
        )  # fmt: skip
    record_replaced(session, Row.__tablename__, tenant, before, len(entries))
    return ImportReport(tenant.name, len(entries))


def _fold(text: str) -> str:
    """NFKC, katakana folded to hiragana, case folded: how names and readings compare."""
    return "".join(
        chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c
        for c in unicodedata.normalize("NFKC", text)
    ).casefold()


def sort_key(entry: PhonebookEntry) -> tuple[int, str, str]:
    """Readings first, in kana order (katakana folded to hiragana); then names."""
    return (
        0 if entry.reading else 1,
        _fold(entry.reading),
        unicodedata.normalize("NFKC", entry.name),
    )


def search(entries: list[PhonebookEntry], text: str) -> list[PhonebookEntry]:
    """The entries whose name or reading contains ``text`` (folded alike, so カタカナ finds
    かたかな and ＡＢＣ finds abc), in the order given; all of them for an empty ``text``. For
    phones that search the book instead of downloading it (Panasonic)."""
    wanted = _fold(text.strip())
    if not wanted:
        return entries
    return [e for e in entries if wanted in _fold(e.name) or wanted in _fold(e.reading)]


def entries_for(session: Session, tenant_id: int) -> list[PhonebookEntry]:
    """What the tenant's phones get: its entries and its extensions, in reading order."""
    rows = session.execute(
        select(Row.name, Row.reading, Row.group, Row.numbers).where(Row.tenant_id == tenant_id)
    ).all()
    entries = [
        PhonebookEntry(name, reading, group, tuple((kind, number) for kind, number in numbers))
        for name, reading, group, numbers in rows
    ]
    listed = {number for entry in entries for _, number in entry.numbers}
    accounts = session.execute(
        select(Account.display_name, Account.extension).where(Account.tenant_id == tenant_id)
    ).all()
    entries += [
        PhonebookEntry(name, "", EXTENSION_GROUP, (("extension", extension),))
        for name, extension in accounts
        if extension not in listed
    ]
    return sorted(entries, key=sort_key)
