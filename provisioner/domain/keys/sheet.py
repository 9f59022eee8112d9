"""A keys sheet: ``mac,position,type,value,label`` rows, each device's rows replacing its keys.

All rows or none: every row is checked as the API checks one key (and a MAC the inventory does
not have, or a position given twice for a device, is an error of its row); any bad row and
nothing is written, each bad row named by its line. A device keeps its expansion module count.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict

from sqlalchemy.orm import Session

from provisioner.domain.errors import DomainError, Invalid
from provisioner.domain.inventory.devices import get_device
from provisioner.domain.keys.layout import KeyIn, set_keys

COLUMNS = ("mac", "position", "type", "value", "label")


class KeysSheetError(Invalid):
    """A sheet that cannot be imported; ``errors`` names each bad row by its line."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors[:20]) + (" ..." if len(errors) > 20 else ""))


def import_keys(session: Session, data: bytes) -> int:
    """Write every device's keys from the sheet, all or none; the number of keys written."""
    try:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        header = tuple(reader.fieldnames or ())
        rows = [(reader.line_num, row) for row in reader]
    except (UnicodeDecodeError, csv.Error) as error:
        raise KeysSheetError([f"the sheet cannot be read: {error}"]) from None
    if header[:3] != COLUMNS[:3] or any(name not in COLUMNS for name in header):
        raise KeysSheetError([f"the header must be {','.join(COLUMNS)} (got {','.join(header)})"])
    by_device: dict[str, list[tuple[int, KeyIn]]] = defaultdict(list)
    errors = []
    for line, row in rows:
        if None in row or not (row.get("position") or "").isdigit():
            errors.append(f"line {line}: position must be a number (and no extra fields)")
            continue
        key = KeyIn(int(row["position"]), row.get("type") or "", row.get("value") or "",
                    row.get("label") or "")  # fmt: skip
        by_device[(row.get("mac") or "").strip()].append((line, key))
    written = 0
    for mac, keyed in by_device.items():
        try:
            device = get_device(session, mac)
        except DomainError as error:
            errors += [f"line {line}: {error}" for line, _ in keyed]
            continue
        for line, key in keyed:  # each row alone first, so every bad row is named
            try:
                with session.begin_nested():
                    set_keys(session, device, device.expansion_modules, [key])
            except DomainError as error:
                errors.append(f"line {line}: {error}")
        try:
            set_keys(session, device, device.expansion_modules, [key for _, key in keyed])
        except DomainError as error:
            errors.append(f"line {keyed[0][0]}: device {mac}: {error}")
        written += len(keyed)
    if errors:
        raise KeysSheetError(errors)
    return written
