"""``provisioner phonebook import`` and ``provisioner keys import``: all rows or none, each bad
row named by its line, and what was written reaches the API's view."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from provisioner.cli import main
from tests.support.server import TEST_KEY

MAC = "000b82aa0001"
SHEET = "tenant,extension,direct_number,display_name,mac,model,port\n" + (
    f"acme,1001,,受付,{MAC},GXP1628,1\n"
)


def run(tmp_path: Path, *args: str) -> Result:
    env = {"PROVISIONER_DB": f"sqlite:///{tmp_path / 'cli.db'}", "PROVISIONER_SECRET_KEY": TEST_KEY}
    return CliRunner().invoke(main, list(args), env=env)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_phonebook_and_keys_imports(tmp_path: Path) -> None:
    sheet = write(tmp_path, "sheet.csv", SHEET)
    assert run(tmp_path, "import", sheet).exit_code == 0
    book = "name,reading,group,office,mobile,home\n阿部,あべ,,0312345678,,\n"
    done = run(tmp_path, "phonebook", "import", "acme", write(tmp_path, "pb.csv", book))
    assert done.exit_code == 0, done.output
    assert "1 entries in the phonebook of acme" in done.output
    bad = run(
        tmp_path, "phonebook", "import", "acme", write(tmp_path, "bad.csv", book + "x,,,,,\n")
    )
    assert bad.exit_code == 1
    assert "line 3: no number" in bad.output
    assert "no tenant" in run(tmp_path, "phonebook", "import", "nobody", sheet).output

    keys = (
        "mac,position,type,value,label\n"
        f"{MAC},1,line,1,受付\n{MAC},3,blf,1001,自分\n{MAC},4,park,,パーク\n"
    )
    done = run(tmp_path, "keys", "import", write(tmp_path, "keys.csv", keys))
    assert done.exit_code == 0, done.output
    assert "3 keys written" in done.output
    rendered = run(tmp_path, "render", MAC).output
    assert "<P323>1</P323>" in rendered  # MPK 1 (position 3): BLF
    assert "<P306>*70</P306>" in rendered  # MPK 2 (position 4): the tenant's park code
    bad_keys = keys + f"{MAC},11,blf,1001,\n{MAC},1,blf,1001,\n000b82ffffff,1,none,,\n"
    refused = run(tmp_path, "keys", "import", write(tmp_path, "bad_keys.csv", bad_keys))
    assert refused.exit_code == 1
    assert "line 5: key 11: the GXP1628 has keys 1-10" in refused.output
    assert "line 6: key 1 is a line key of the GXP1628" in refused.output
    assert "line 7: no device 000b82ffffff" in refused.output
    assert "<P306>*70</P306>" in run(tmp_path, "render", MAC).output  # nothing changed
