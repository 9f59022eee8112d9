"""The request history's cost on an import: the same sheet imported into fresh databases with
the audit listener on (every row recorded in the import's transaction) and off, alternately.

Prints the median seconds of each and their ratio (history on / off), and how many records the
import wrote. Both runs are in this process, one after the other, so the ratio holds on a busy
machine where the seconds do not.

    python -m bench.audit_import [--rows 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import event, func, select

from provisioner.db import audit
from provisioner.db.actor import Actor, acting
from provisioner.db.audit import AuditRecord
from provisioner.db.session import Database
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.secretbox import SecretBox


def sheet(rows: int) -> bytes:
    return sheet_rows(
        {"tenant": "大口", "extension": f"{2000 + i}", "direct_number": "",
         "display_name": f"社員{i}", "mac": f"000b82{0x100000 + i // 2:06x}",
         "model": "GXP2170", "port": str(1 + i % 2)}
        for i in range(rows)
    )  # fmt: skip


def one_import(data: bytes, box: SecretBox, workdir: Path, *, history: bool) -> tuple[float, int]:
    db = Database(f"sqlite:///{workdir / f'{time.monotonic_ns()}.db'}")
    db.upgrade()
    if not history:
        event.remove(db._sessions, "after_flush", audit._record)
    with acting(Actor("bench", "import")):
        started = time.perf_counter()
        with db.session() as session:
            report = import_sheet(session, box, data, actor="bench")
        took = time.perf_counter() - started
    assert report.ok, report.errors[:3]
    with db.session() as session:
        written = session.scalar(select(func.count()).select_from(AuditRecord)) or 0
    db.dispose()
    return took, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    data = sheet(options.rows)
    box = SecretBox(Fernet.generate_key().decode())
    times: dict[bool, list[float]] = {True: [], False: []}
    written = 0
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as workdir:
        for _ in range(options.rounds):
            for history in (False, True):
                took, count = one_import(data, box, Path(workdir), history=history)
                times[history].append(took)
                written = max(written, count)
    off, on = statistics.median(times[False]), statistics.median(times[True])
    print(f"import of {options.rows} rows, median of {options.rounds}: "
          f"history off {off:.2f} s, on {on:.2f} s, ratio {on / off:.2f}; "
          f"{written} records written in the import's transaction")  # fmt: skip


if __name__ == "__main__":
    main()
