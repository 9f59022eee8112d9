"""The web front door of a real ``provisioner serve``, attacked with curl as issue 17 did:
staff logins (enumeration, lockouts), logout, page headers and Origin, worker logging, the
API document's UI, too-wide tenant networks, bidi names and warehouse imports (findings 10,
11 and 13).

Loopback has many addresses: 127.0.0.3 is the bench (the only staging network here), the
others are "the field" and separate hosts for the lockout checks (curl --interface).
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from provisioner.db.models import ApiRole, Device, Tenant
from provisioner.db.session import Database
from provisioner.domain.access import staff
from provisioner.domain.access.tokens import create_token
from provisioner.domain.demo import DEMO_TENANT, demo_mac
from provisioner.domain.inventory import lifecycle
from provisioner.secretbox import SecretBox
from provisioner.vendors import all_models
from tests.support.server import TEST_KEY, RunningServer, start_server, stop_server

BENCH = "127.0.0.3"
PAIR_LIMIT = 5  # PAIR_LIMIT, written out so that this file also runs against main
PASSWORD = "right password"
TIMESTAMP = re.compile(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO ", re.MULTILINE)


@dataclass
class Lab:
    server: RunningServer
    db: Database
    tokens: dict[ApiRole, str]
    workdir: Path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("front-door")
    url = f"sqlite:///{workdir / 'inventory.db'}"
    server = start_server(workdir, url, env_extra={"PROVISIONER_STAGING_NETWORKS": f"{BENCH}/32"})
    db = Database(url)
    with db.session() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.name == DEMO_TENANT)).one()
        staff.add_staff(session, "hanako", PASSWORD)
        staff.add_staff(session, "kyaku", PASSWORD, tenant)  # the customer pages' administrator
        tokens = {
            role: create_token(session, f"t-{role.value}", role)[1]
            for role in (ApiRole.ADMIN, ApiRole.WAREHOUSE)
        }
    try:
        yield Lab(server, db, tokens, workdir)
    finally:
        db.dispose()
        stop_server(server)


def curl(
    url: str, *args: str, source: str = BENCH, jar: Path | None = None
) -> tuple[int, str, bytes, float]:
    """Status, the last response's headers (lower-case), body and seconds, from curl."""
    cookies = ["-b", str(jar), "-c", str(jar)] if jar else []
    started = time.monotonic()
    done = subprocess.run(
        ["curl", "-s", "-D", "-", "-o", "-", "--interface", source, *cookies, *args, url],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    status = int(head.split()[1]) if head else 0
    return status, head.decode("latin-1").lower(), body, seconds


def form_login(
    lab: Lab, pages: str, username: str, password: str, source: str, jar: Path, *extra: str
) -> tuple[int, float]:
    """Log in through the page's form as a browser would: its CSRF token, then the POST."""
    page = f"{lab.server.http}/{pages}/login"
    body = curl(page, source=source, jar=jar)[2]
    token = re.search(rb'name="csrf" value="([^"]+)"', body)
    assert token is not None, body[:300]
    status, _, _, seconds = curl(
        page, "--data-urlencode", f"csrf={token.group(1).decode()}", "--data-urlencode",
        f"username={username}", "--data-urlencode", f"password={password}", *extra,
        source=source, jar=jar,
    )  # fmt: skip
    return status, seconds


def test_names_cannot_be_told_apart_and_one_host_cannot_lock_an_account_out(
    lab: Lab, tmp_path: Path
) -> None:
    guesser, owner = "127.0.0.4", "127.0.0.5"
    answers: dict[str, list[tuple[int, float]]] = {}
    for name in ("kyaku", "no-such-name"):  # a real customer account, an unknown name
        answers[name] = [
            form_login(lab, "customer", name, "wrong password", guesser, tmp_path / "g")
            for _ in range(PAIR_LIMIT + 2)
        ]
    statuses = {name: [status for status, _ in tries] for name, tries in answers.items()}
    expected = [401] * (PAIR_LIMIT - 1) + [429] * 3
    assert statuses == {"kyaku": expected, "no-such-name": expected}
    # A refused try and a locked one cost the same scrypt: time tells nothing either.
    refused = statistics.median(s for status, s in answers["kyaku"] if status == 401)
    locked = statistics.median(s for status, s in answers["kyaku"] if status == 429)
    assert locked > refused * 0.6, (refused, locked)
    # The guesser is locked out of that account; its owner, elsewhere, is not.
    assert form_login(lab, "customer", "kyaku", PASSWORD, guesser, tmp_path / "g")[0] == 429
    assert form_login(lab, "customer", "kyaku", PASSWORD, owner, tmp_path / "o")[0] == 302


def test_logout_ends_the_session_for_every_copy_of_the_cookie(lab: Lab, tmp_path: Path) -> None:
    for pages, name, home in (("staging", "hanako", "bench"), ("customer", "kyaku", "")):
        jar = tmp_path / f"{pages}.jar"
        assert form_login(lab, pages, name, PASSWORD, BENCH, jar)[0] == 302
        copied = tmp_path / f"{pages}-copied.jar"
        copied.write_bytes(jar.read_bytes())
        assert curl(f"{lab.server.http}/{pages}/{home}", jar=copied)[0] == 200
        csrf = re.search(rb'name="csrf" value="([^"]+)"',
                         curl(f"{lab.server.http}/{pages}/{home}", jar=jar)[2])  # fmt: skip
        assert csrf is not None
        out = curl(f"{lab.server.http}/{pages}/logout", "-d", f"csrf={csrf.group(1).decode()}",
                   jar=jar)  # fmt: skip
        assert out[0] == 302
        status, headers, _, _ = curl(f"{lab.server.http}/{pages}/{home}", jar=copied)
        assert status == 302, pages
        assert f"location: /{pages}/login" in headers


def test_pages_are_never_framed_and_refuse_another_sites_posts(lab: Lab, tmp_path: Path) -> None:
    for path in ("/staging/login", "/customer/login", "/staging/static/staging.css"):
        status, headers, _, _ = curl(lab.server.http + path)
        assert status == 200, path
        assert "x-frame-options: deny" in headers
        assert "content-security-policy: default-src 'none'; script-src 'self';" in headers
        assert "frame-ancestors 'none'" in headers
    jar = tmp_path / "jar"
    for origin, wanted in (("http://evil.example", 400), ("null", 400),
                           (lab.server.http, 302)):  # fmt: skip
        status = form_login(lab, "staging", "hanako", PASSWORD, BENCH, jar, "-H",
                            f"Origin: {origin}")[0]  # fmt: skip
        assert status == wanted, origin


def test_http_workers_log_info_events_with_timestamps(lab: Lab) -> None:
    models = all_models()
    model = next(m for m in models if m.model == "GXP1610")
    mac = demo_mac(models.index(model) + 1, model)
    box = SecretBox(TEST_KEY)
    with lab.db.session() as session:
        device = session.scalars(select(Device).where(Device.mac == mac)).one()
        lifecycle.apply(session, box, device, lifecycle.Action.STAGE, actor="test")
        lifecycle.apply(session, box, device, lifecycle.Action.SHIP, actor="test")
        session.scalars(select(Tenant)).one().allowed_networks = ["127.0.0.0/30"]
    time.sleep(1.2)  # a served file is cached for up to a second
    assert curl(f"{lab.server.http}/cfg{mac}.xml", source="127.0.0.1")[0] == 200
    log = lab.workdir / "server.log"
    line = f"provisioner.security: device {mac} installed: first fetch from 127.0.0.1"
    deadline = time.monotonic() + 10
    while line.encode() not in log.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.2)
    found = [row for row in log.read_bytes().splitlines() if line.encode() in row]
    assert found, log.read_text()[-2000:]
    assert TIMESTAMP.match(found[0]), found


def test_the_api_document_ui_comes_from_us_not_a_cdn(lab: Lab) -> None:
    status, _, page, _ = curl(f"{lab.server.http}/api/v1/docs")
    assert status == 200
    sources = re.findall(rb'(?:src|href)="([^"]+)"', page)
    assert sources
    assert all(source.startswith(b"/api/v1/") for source in sources), sources
    for source in sources:
        assert curl(lab.server.http + source.decode())[0] == 200, source
    assert curl(f"{lab.server.http}/api/v1/docs/ui/index.html")[0] == 404


def _api(lab: Lab, method: str, path: str, role: ApiRole, *args: str) -> tuple[int, dict]:
    status, _, body, _ = curl(
        f"{lab.server.http}/api/v1{path}", "-X", method,
        "-H", f"Authorization: Bearer {lab.tokens[role]}", *args,
    )  # fmt: skip
    return status, json.loads(body)


def test_tenants_refuse_the_whole_internet_and_names_that_read_otherwise(lab: Lab) -> None:
    as_json = ("-H", "Content-Type: application/json", "--data-binary")
    for networks in (["0.0.0.0/0"], ["::/0"], ["192.0.2.0/24", "0.0.0.0/1"]):
        body = json.dumps({"name": "wide", "allowed_networks": networks})
        status, answer = _api(lab, "POST", "/tenants", ApiRole.ADMIN, *as_json, body)
        assert status == 422, answer
        assert "too wide" in answer["error"]
    for name in ("Acme\u202egnp.exe", "Ac\u200bme"):
        status, answer = _api(lab, "POST", "/tenants", ApiRole.ADMIN, *as_json,
                              json.dumps({"name": name}))  # fmt: skip
        assert status == 422, answer


def test_a_warehouse_import_cannot_create_tenants_or_accounts(lab: Lab, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "tenant,extension,direct_number,display_name,mac,model,port\n"
        "Fresh Co,4001,,Fresh,000b82ab0001,GXP1610,1\n"
    )
    args = ("-H", "Content-Type: text/csv", "--data-binary", f"@{sheet}")
    status, answer = _api(lab, "POST", "/imports", ApiRole.WAREHOUSE, *args)
    assert status == 422, answer
    assert "only an administrator creates one" in answer["rows"][0]["reason"]
    with lab.db.session() as session:
        assert session.scalars(select(Tenant).where(Tenant.name == "Fresh Co")).first() is None
    assert _api(lab, "POST", "/imports", ApiRole.ADMIN, *args)[0] == 200
