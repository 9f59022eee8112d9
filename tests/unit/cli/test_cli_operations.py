"""``backup``, ``restore`` and ``secrets rotate-key`` as a user runs them: the key file beside a
SQLite database follows the rotation; a restore under another key is an error message."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result
from cryptography.fernet import Fernet

from provisioner.app.service import open_service
from provisioner.cli import main
from provisioner.settings import Settings
from tests.support.fleet import demo_files, seed


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env or {})


def test_backup_restore_and_rotation_with_the_key_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    service = open_service(Settings(db=url))  # no key set: secret.key beside the database
    seed(service)
    before = demo_files(service)
    service.close()
    key_file = tmp_path / "secret.key"
    old_key = key_file.read_text().strip()

    backed = run("backup", "--to", str(tmp_path / "b.tar"), "--db", url)
    assert backed.exit_code == 0, backed.output
    new_key = Fernet.generate_key().decode()
    rotated = run("secrets", "rotate-key", "--db", url, env={"PROVISIONER_NEW_SECRET_KEY": new_key})
    assert rotated.exit_code == 0, rotated.output
    assert key_file.read_text().strip() == new_key
    assert key_file.stat().st_mode & 0o077 == 0

    refused = run("restore", str(tmp_path / "b.tar"), "--db", url)  # made under the old key
    assert refused.exit_code == 1
    assert "fingerprint" in refused.output
    assert "nothing was written" in refused.output

    again = open_service(Settings(db=url))
    try:
        assert demo_files(again) == before
    finally:
        again.close()
    key_file.write_text(old_key + "\n")  # with the key it was made under, it restores
    restored = run("restore", str(tmp_path / "b.tar"), "--db", url)
    assert restored.exit_code == 0, restored.output
    back = open_service(Settings(db=url))
    try:
        assert demo_files(back) == before
    finally:
        back.close()


def test_restore_without_any_key_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "b.tar"
    junk.write_bytes(b"")
    done = run("restore", str(junk), "--db", f"sqlite:///{tmp_path / 'fresh.db'}")
    assert done.exit_code == 1
    assert "no PROVISIONER_SECRET_KEY set and no key file" in done.output
    assert not (tmp_path / "secret.key").exists()
