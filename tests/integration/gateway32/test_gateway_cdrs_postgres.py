"""A gateway's CDR upload to ``provisioner serve`` on PostgreSQL, which refuses text SQLite
takes: a NUL or a lone surrogate in a record is that record's 422, never a 500 the gateway
retries forever (issue 17, finding 12)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from provisioner.db.gateways import CallRecord
from provisioner.db.session import Database, make_engine
from provisioner.domain.demo import DEMO_TENANT
from provisioner.secretbox import SecretBox
from tests.support.gateway_inventory import Gateway, add_gateway, tenant_named
from tests.support.server import TEST_KEY, RunningServer, start_server, stop_server

pytestmark = pytest.mark.postgres

DID = "0399990001"


@pytest.fixture(scope="module")
def served(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, Gateway, Database]]:
    name = "gateway_cdrs_nul"
    admin = make_engine(postgres_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    server = start_server(tmp_path_factory.mktemp("cdrs-pg"), url)
    db = Database(url)
    with db.session() as session:
        tenant = tenant_named(session, DEMO_TENANT)
        gateway = add_gateway(session, SecretBox(TEST_KEY), "0011223366ab", tenant, {DID: "1001"})
    try:
        yield server, gateway, db
    finally:
        db.dispose()
        stop_server(server)
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


def _record(call_id: str, **changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "call_id": call_id, "direction": "inbound", "did": DID, "tenant": DEMO_TENANT,
        "from": "sip:0312345678@127.0.0.1", "to": "sip:1001@127.0.0.1",
        "start": "2026-12-01T19:00:00.123Z", "end": "2026-12-01T19:01:00.000Z",
        "result": "answered", "channels_in_use": 1,
    }  # fmt: skip
    return record | changes


def _post(server: RunningServer, gateway: Gateway, body: str, tmp_path: Path) -> tuple[int, dict]:
    (tmp_path / "body.json").write_text(body)
    done = subprocess.run(
        ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--digest", "-u",
         f"{gateway.http_user}:{gateway.http_password}", "-H", "Content-Type: application/json",
         "--data-binary", f"@{tmp_path / 'body.json'}",
         f"{server.http}/gateway/{gateway.mac}/cdrs"],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    answer, _, code = done.stdout.rpartition(b"\n")
    return int(code), json.loads(answer)


@pytest.mark.parametrize(
    ("field", "escaped"), [("from", "sip:\\u0000@x"), ("call_id", "a\\ud800b"), ("to", "\\u0000")]
)
def test_text_postgres_cannot_store_is_the_records_422(
    served: tuple[RunningServer, Gateway, Database], tmp_path: Path, field: str, escaped: str
) -> None:
    server, gateway, db = served
    good = json.dumps(_record(f"good-{field}@gw"))
    bad = json.dumps(_record(f"bad-{field}@gw") | {field: "PLACEHOLDER"})
    body = f"[{good}, {bad.replace('PLACEHOLDER', escaped)}]"
    status, answer = _post(server, gateway, body, tmp_path)
    assert status == 422, answer
    assert answer["record"] == 1
    assert "NUL or a lone surrogate" in answer["error"]
    with db.session() as session:  # nothing of the batch stored
        assert session.scalar(select(func.count()).select_from(CallRecord)) == 0
    status, answer = _post(server, gateway, f"[{good}]", tmp_path)
    assert (status, answer["accepted"]) == (200, 1)
    with db.session() as session:
        session.execute(CallRecord.__table__.delete())
