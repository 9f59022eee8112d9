"""A Panasonic phone in the field fetches its own file with the credentials its bench file gave
it, exactly as the phone would (issue 21).

The guides give provisioning credentials as ``user:password@`` in the file URL (KX-HDV100 guide
§2.1); the phone answers the server's challenge with them: Digest over HTTP, Basic over HTTPS.
The test walks the phone's path: the bootstrap ``<MODEL>.cfg`` and its own file on the bench
(127.0.0.2, the staging network), then its own file from the customer's site (127.0.0.1) with
the URL it was given, which it takes from the file, never from the database. curl is the client.
A KX-HDV/KX-TGP600 searches its tenant's phonebook the same way, with the URL its bench file gave
(issue 15).
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from provisioner.domain.demo import demo_mac
from provisioner.vendors import all_models
from tests.support.ports import free_port
from tests.support.server import RunningServer, start_server, stop_server

BENCH, FIELD, PROBE = "127.0.0.2", "127.0.0.1", "127.0.0.3"
MODELS = ("KX-HDV230", "KX-TGP600", "KX-UT133")
_SETTING = re.compile(r'^(?P<name>[A-Z0-9_]+)="(?P<value>[^"]*)"$')


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("panafield")
    https_port = free_port()
    running = start_server(
        workdir,
        f"sqlite:///{workdir / 'inventory.db'}",
        "--https", f"127.0.0.1:{https_port}",
        env_extra={"PROVISIONER_STAGING_NETWORKS": f"{BENCH}/32"},
    )  # fmt: skip
    running.https_port = https_port  # type: ignore[attr-defined]
    yield running
    stop_server(running)


def curl(url: str, *args: str, source: str) -> tuple[int, bytes]:
    """Status and body as curl, bound to ``source``, gets them (credentials from the URL)."""
    result = subprocess.run(
        ["curl", "-s", "-k", "--interface", source, "-o", "-", "-w", "\n%{http_code}", *args, url],
        capture_output=True, timeout=30, check=True,
    )  # fmt: skip
    body, _, status = result.stdout.rpartition(b"\n")
    return int(status), body


def settings(body: bytes) -> dict[str, str]:
    lines = body.decode("utf-8").split("\r\n")
    assert lines[0].startswith("# Panasonic SIP Phone Standard Format File #")
    return {m["name"]: m["value"] for raw in lines if (m := _SETTING.match(raw))}


def own_file_url(body: bytes, mac: str) -> str:
    """CFG_STANDARD_FILE_PATH from a file, with the {MAC} the phone fills in itself."""
    return settings(body)["CFG_STANDARD_FILE_PATH"].replace("{MAC}", mac.upper())


def mac_of(model_name: str) -> str:
    index, model = next((i, m) for i, m in enumerate(all_models(), 1) if m.model == model_name)
    return demo_mac(index, model)


def bench_file(server: RunningServer, model_name: str) -> bytes:
    """The phone on the bench: its bootstrap file, then its own file from the URL given there."""
    status, bootstrap = curl(f"{server.http}/{model_name}.cfg", source=BENCH)
    assert status == 200
    status, own = curl(own_file_url(bootstrap, mac_of(model_name)), source=BENCH)
    assert status == 200
    return own


def bench_url(server: RunningServer, model_name: str) -> str:
    """The URL of its own file that the phone keeps from the bench."""
    return own_file_url(bench_file(server, model_name), mac_of(model_name))


@pytest.mark.parametrize("model_name", MODELS)
def test_the_phone_fetches_its_file_in_the_field_with_the_url_it_got(
    server: RunningServer, model_name: str
) -> None:
    url = bench_url(server, model_name)
    parts = urlsplit(url)
    assert parts.username
    assert parts.password  # the bench file carried the credentials, in the URL
    bare = url.replace(f"{parts.username}:{parts.password}@", "")

    assert curl(bare, source=FIELD)[0] == 401  # in the field a file needs the credentials
    wrong = url.replace(f":{parts.password}@", f":{parts.password}x@")
    assert curl(wrong, "--digest", source=PROBE)[0] == 401

    status, body = curl(url, "--digest", source=FIELD)  # as the phone answers a challenge
    assert status == 200
    values = settings(body)
    assert values["PHONE_NUMBER_1"]  # its lines are there
    # The field file names no URL, so the phone keeps the one with its credentials...
    assert "CFG_STANDARD_FILE_PATH" not in values
    assert parts.password.encode() not in body  # ...and the password went out on the bench only
    assert not any(name.startswith("HTTP_AUTH") for name in values)


@pytest.mark.parametrize("model_name", MODELS)
def test_over_https_the_same_credentials_work_as_basic(
    server: RunningServer, model_name: str
) -> None:
    """A phone whose URL is https:// sends them as Basic, which HTTPS only accepts."""
    parts = urlsplit(bench_url(server, model_name))
    https_port = server.https_port  # type: ignore[attr-defined]
    url = f"https://{parts.username}:{parts.password}@127.0.0.1:{https_port}{parts.path}"
    status, body = curl(url, "--basic", source=FIELD)
    assert status == 200
    assert "CFG_STANDARD_FILE_PATH" not in settings(body)


@pytest.mark.parametrize("model_name", ["KX-HDV230", "KX-TGP600"])
def test_the_phone_searches_its_tenants_phonebook_with_the_url_it_got(
    server: RunningServer, model_name: str
) -> None:
    values = settings(bench_file(server, model_name))
    assert values["XMLAPP_ENABLE"] == "Y"
    url = values["XMLAPP_LDAP_URL"] + "?name="
    parts = urlsplit(url)
    assert parts.path == f"/phonebook/{mac_of(model_name)}/panasonic.xml"

    status, body = curl(url, "--digest", source=FIELD)
    assert status == 200
    ns = "{http://panasonic/sip_phone}"
    people = ET.fromstring(body).findall(f"{ns}Screen/{ns}PhoneBook/{ns}Personnel")
    assert people  # the demo tenant's extensions
    assert all(p.findtext(f"{ns}PhoneNums/{ns}PhoneNum") for p in people)

    bare = url.replace(f"{parts.username}:{parts.password}@", "")
    assert curl(bare, source=FIELD)[0] == 401
    # A phone of the same tenant, with its own valid credentials, asking for this one's book.
    other = urlsplit(bench_url(server, "KX-UT133"))
    theirs = bare.replace("://", f"://{other.username}:{other.password}@", 1)
    assert curl(theirs, "--digest", source=PROBE)[0] == 401
