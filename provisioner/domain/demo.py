"""Demo data: one tenant, its accounts, and one device of every supported model."""

from __future__ import annotations

from sqlalchemy.orm import Session

from provisioner.domain.inventory.sheet import ImportReport, import_sheet, sheet_rows
from provisioner.secretbox import SecretBox
from provisioner.vendors import all_models
from provisioner.vendors.base import DeviceKind, ModelInfo
from provisioner.vendors.facts import OUIS

DEMO_TENANT = "demo-tenant"
REPRESENTATIVE = "0312340000"
_NAMES = ("山田 太郎", "佐藤 花子", "鈴木 一郎", "高橋 次郎", "田中 三郎", "伊藤 四郎")


def demo_mac(index: int, model: ModelInfo) -> str:
    """Under the vendor's first OUI, so the bench's DHCP takes the demo device for its vendor."""
    return f"{OUIS[model.vendor][0]}{0xD0000 + index:06x}"


def demo_rows() -> list[dict[str, str]]:
    rows = []
    for index, model in enumerate(all_models(), start=1):
        for port in range(1, model.lines + 1):
            extension = 1000 + port
            row = {
                "tenant": DEMO_TENANT,
                "extension": str(extension),
                "direct_number": f"03123{extension:05d}",
                "display_name": _NAMES[(port - 1) % len(_NAMES)],
                "mac": demo_mac(index, model),
                "model": model.model,
                "port": str(port),
                "representative_number": REPRESENTATIVE if port == 1 else "",
            }
            if model.kind is DeviceKind.ATA:
                row["fax"] = "passthrough" if port % 2 == 0 else "t38"
            rows.append(row)
    return rows


def seed_demo(session: Session, box: SecretBox) -> ImportReport:
    """Import the demo sheet (idempotent: importing it again changes nothing)."""
    report = import_sheet(session, box, sheet_rows(demo_rows()), actor="demo")
    if not report.ok:
        raise RuntimeError("demo sheet refused: " + "; ".join(map(str, report.errors)))
    return report
