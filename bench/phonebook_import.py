"""Phonebook import: a 5,000-entry CSV into a tenant's phonebook, and the file a phone gets.

Prints the seconds of the whole import (checks and write, SQLite), of rendering the
Grandstream phonebook XML from the database, of one Panasonic network-phonebook search answer
(the whole book read, searched, 10 written: what each search on the phone costs), and each as a
ratio to reading the same CSV with the csv module alone (the reference, measured in the same
run); target: the import within a few seconds.

    python -m bench.phonebook_import [--entries 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import tempfile
import time
from pathlib import Path

from provisioner.app.service import open_service
from provisioner.db.models import Tenant
from provisioner.domain.phonebook.book import entries_for, import_phonebook, search
from provisioner.rendering import render_plan
from provisioner.settings import Settings
from provisioner.vendors import grandstream, panasonic
from tests.support.server import TEST_KEY

KANA = "あいうえおかきくけこ"


def sheet(entries: int) -> bytes:
    rows = ["name,reading,group,office,mobile,home"]
    for n in range(entries):
        reading = "".join(KANA[int(d)] for d in str(n))
        rows.append(f"山田 {n} & <社>,{reading},営業{n % 20},03-{n:04d}-0000,090{n:08d},")
    return ("\n".join(rows) + "\n").encode()


def best(rounds: int, work: object) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = sheet(args.entries)
    with tempfile.TemporaryDirectory() as workdir:
        service = open_service(
            Settings(db=f"sqlite:///{Path(workdir) / 'bench.db'}", secret_key=TEST_KEY)
        )
        with service.db.session() as session:
            session.add(Tenant(name="bench"))
        with service.db.session() as session:
            tenant_id = session.query(Tenant.id).filter_by(name="bench").scalar()

        def reference() -> None:
            list(csv.DictReader(io.StringIO(data.decode("utf-8"))))

        def imported() -> None:
            with service.db.session() as session:
                tenant = session.get(Tenant, tenant_id)
                assert tenant is not None
                import_phonebook(session, tenant, data)

        def rendered() -> None:
            with service.db.session() as session:
                entries = entries_for(session, tenant_id)
            model = grandstream.VENDOR.models["GXP2170"]
            plan = grandstream.VENDOR.phonebook(model, entries)
            assert plan is not None
            render_plan(plan)

        def searched() -> None:
            with service.db.session() as session:
                entries = search(entries_for(session, tenant_id), "あい")
            plan = panasonic.VENDOR.phonebook(panasonic.VENDOR.models["KX-HDV230"], entries)
            assert plan is not None
            render_plan(plan)

        base = best(args.rounds, reference)
        load = best(args.rounds, imported)
        serve = best(args.rounds, rendered)
        answer = best(args.rounds, searched)
        service.close()
    print(f"{args.entries} entries: csv alone {base * 1000:.1f} ms (reference)")
    print(f"import (checks + write): {load:.2f} s = {load / base:.0f}x the reference")
    print(f"phonebook XML from the database: {serve:.2f} s = {serve / base:.0f}x the reference")
    print(f"Panasonic search answer: {answer:.2f} s = {answer / base:.0f}x the reference")


if __name__ == "__main__":
    main()
