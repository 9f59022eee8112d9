"""``provisioner order``: closed days move the due time of orders imported after them; a bad
row is named by its line and keeps nothing; show, list, cancel and the shipments CSV."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from provisioner.cli import main
from tests.support.server import TEST_KEY

HEADER = (
    "tenant,extension,direct_number,display_name,mac,model,port,"
    "postal_code,prefecture,city,address_lines,recipient,phone,received_at"
)
ROW = (
    "株式会社CLI,4001,,受付,,GXP2170,1,"
    "060-0001,北海道,札幌市中央区,北一条西1,鈴木 一郎,011-123-4567,"
)


def run(tmp_path: Path, *args: str) -> Result:
    env = {"PROVISIONER_DB": f"sqlite:///{tmp_path / 'cli.db'}", "PROVISIONER_SECRET_KEY": TEST_KEY}
    return CliRunner().invoke(main, list(args), env=env)


def write(tmp_path: Path, *rows: str) -> str:
    path = tmp_path / "order.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def test_closed_day_import_show_list_cancel(tmp_path: Path) -> None:
    added = run(tmp_path, "order", "closed-day", "add", "2026-07-21", "--reason", "棚卸")
    assert added.exit_code == 0, added.output
    assert "2026-07-21" in run(tmp_path, "order", "closed-day", "list").output
    # Friday evening before Marine Day; the company closed on Tuesday too: day 0 is Wednesday.
    made = run(tmp_path, "order", "import", write(tmp_path, ROW + "2026-07-17T18:30"))
    assert made.exit_code == 0, made.output
    assert "order 1: due 2026-07-24 15:00 JST" in made.output
    assert "2026-07-21 (Tue) company closed day" in made.output
    shown = run(tmp_path, "order", "show", "1").output
    assert "北海道札幌市中央区北一条西1" in shown
    assert "received  cli" in shown
    assert "received" in run(tmp_path, "order", "list").output
    assert run(tmp_path, "order", "cancel", "1", "--reason", "customer asked").exit_code == 0
    assert "cancelled" in run(tmp_path, "order", "show", "1").output
    refused = run(
        tmp_path, "order", "ship", "1", "--carrier", "yamato", "--tracking", "123456789013"
    )
    assert refused.exit_code == 1
    assert "only a staged order ships" in refused.output
    assert run(tmp_path, "order", "closed-day", "remove", "2026-07-21").exit_code == 0
    csv = run(tmp_path, "order", "shipments", "--day", "2026-07-24")
    assert csv.output.lstrip("\ufeff").startswith("order,carrier,tracking_number")


def test_a_bad_row_is_named_and_nothing_is_kept(tmp_path: Path) -> None:
    bad = ROW.replace("011-123-4567", "12345")
    result = run(tmp_path, "order", "import", write(tmp_path, ROW, bad))
    assert result.exit_code == 1
    assert "line 3: phone must be 10 or 11 digits" in result.output
    assert "received" not in run(tmp_path, "order", "list").output
