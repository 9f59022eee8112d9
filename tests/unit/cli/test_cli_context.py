"""The command line's shared context: options at either level, the service opened only when a
command needs it and closed after it, refusals as error messages, quiet schema upgrades."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from provisioner.app.service import Service
from provisioner.cli import main
from tests.support.server import TEST_KEY


def run(tmp_path: Path, *args: str, secret_key: str = TEST_KEY) -> Result:
    env = {"PROVISIONER_FIRMWARE_DIR": str(tmp_path / "store")}
    if secret_key:
        env["PROVISIONER_SECRET_KEY"] = secret_key
    return CliRunner().invoke(main, list(args), env=env)


def sqlite(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.mark.parametrize("args", [["--help"], ["firmware", "list"], ["firmware", "--help"]])
def test_commands_that_need_no_database_open_none(tmp_path: Path, args: list[str]) -> None:
    database = tmp_path / "inventory.db"
    result = run(tmp_path, "--db", sqlite(database), *args, secret_key="")
    assert result.exit_code == 0, result.output
    assert not database.exists()
    assert not (tmp_path / "secret.key").exists()  # nor made a key for one


def test_db_and_config_are_accepted_before_and_after_the_command(tmp_path: Path) -> None:
    before, after = tmp_path / "before.db", tmp_path / "after.db"
    assert (
        run(tmp_path, "--db", sqlite(before), "token", "create", "a", "--role", "admin").exit_code
        == 0
    )
    assert (
        run(tmp_path, "token", "create", "b", "--role", "admin", "--db", sqlite(after)).exit_code
        == 0
    )
    listed = run(tmp_path, "--db", sqlite(before), "token", "list")
    assert listed.exit_code == 0
    assert "a " in listed.stdout
    assert "b " not in listed.stdout
    # Given at both levels, the command's own wins: scripts append it to what a wrapper passes.
    both = run(tmp_path, "--db", sqlite(before), "token", "list", "--db", sqlite(after))
    assert "b " in both.stdout
    assert "a " not in both.stdout


def test_a_refusal_is_an_error_message_and_exit_status_1(tmp_path: Path) -> None:
    database = sqlite(tmp_path / "inventory.db")
    result = run(tmp_path, "token", "revoke", "nobody", "--db", database)  # NotFound
    assert result.exit_code == 1
    assert result.stderr == "Error: no token named 'nobody'\n"
    result = run(tmp_path, "firmware", "show", "img-0", "--db", database)  # the catalog's refusal
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")


def test_a_bad_setting_is_an_error_message_and_exit_status_1(tmp_path: Path) -> None:
    database = sqlite(tmp_path / "inventory.db")
    result = run(tmp_path, "token", "list", "--db", database, secret_key="not a key")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: PROVISIONER_SECRET_KEY must be urlsafe base64")


def test_the_service_is_closed_once_when_the_command_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[Service] = []
    close = Service.close

    def counted_close(service: Service) -> None:
        closed.append(service)
        close(service)

    monkeypatch.setattr(Service, "close", counted_close)
    assert run(tmp_path, "token", "list", "--db", sqlite(tmp_path / "a.db")).exit_code == 0
    assert len(closed) == 1
    assert run(tmp_path, "token", "revoke", "x", "--db", sqlite(tmp_path / "a.db")).exit_code == 1
    assert len(closed) == 2  # a refusal closes it too


def test_piped_tables_keep_whole_rows(tmp_path: Path) -> None:
    name = "n" * 60  # with the other cells, wider than 80 columns
    database = sqlite(tmp_path / "inventory.db")
    assert (
        run(tmp_path, "token", "create", name, "--role", "admin", "--db", database).exit_code == 0
    )
    listed = run(tmp_path, "token", "list", "--db", database)
    row = next(line for line in listed.stdout.splitlines() if name[:10] in line)
    assert name in row
    assert "admin" in row
