"""``provisioner serve`` on loopback, fetched with real clients: curl, tftp-hpa, curl tftp://.

HTTP and TFTP must give the same bytes for the same file name; unknown files get 404 both
ways; hostile names and packets get an error while the server keeps serving.
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from provisioner.domain.demo import demo_mac
from provisioner.domain.inventory.sheet import sheet_rows
from provisioner.vendors import all_models, vendor
from tests.support.server import RunningServer

MODELS = all_models()
GS_INDEX, GS_MODEL = next((i, m) for i, m in enumerate(MODELS, 1) if m.model == "GXP2170")
PANA_INDEX, PANA_MODEL = next((i, m) for i, m in enumerate(MODELS, 1) if m.model == "KX-HDV230")
GS_MAC = demo_mac(GS_INDEX, GS_MODEL)
PANA_MAC = demo_mac(PANA_INDEX, PANA_MODEL)
GS_UA = f"Grandstream Model HW GXP2170 SW 1.0.11.79 DevId {GS_MAC}"


def curl(url: str, *args: str) -> tuple[int, bytes]:
    """HTTP status (or curl's exit code for TFTP) and the body, fetched by the curl binary."""
    result = subprocess.run(
        ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", *args, url],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    body, _, code = result.stdout.rpartition(b"\n")
    if url.startswith("tftp://"):
        return result.returncode, body
    return int(code), body


def tftp_hpa(server: RunningServer, name: str, dest: Path) -> str:
    """tftp-hpa exits 0 even on errors: return its output, the caller checks the file."""
    result = subprocess.run(
        ["tftp", "127.0.0.1", str(server.tftp_port), "-m", "binary", "-c", "get", name, str(dest)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return result.stdout + result.stderr


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.model)
def test_every_model_is_served_identically_over_http_and_tftp(
    server: RunningServer, tmp_path: Path, model
) -> None:
    mac = demo_mac(MODELS.index(model) + 1, model)
    name = vendor(model.vendor).device_filename(mac, model)
    status, http_body = curl(f"{server.http}/{name}")
    assert status == 200
    assert len(http_body) > 200
    code, tftp_body = curl(f"tftp://127.0.0.1:{server.tftp_port}/{name}", "--tftp-blksize", "1468")
    assert code == 0
    assert tftp_body == http_body
    out = tftp_hpa(server, name, tmp_path / "hpa")
    assert (tmp_path / "hpa").read_bytes() == http_body, out
    if model.vendor == "grandstream":
        ET.fromstring(http_body)
    else:
        assert http_body.startswith(b"# Panasonic SIP Phone Standard Format File #")


@pytest.mark.parametrize("prefix", ["", "gs/", "Grandstream/", "a/b/c/"])
def test_any_path_prefix_names_the_same_file(server: RunningServer, prefix: str) -> None:
    plain = curl(f"{server.http}/cfg{GS_MAC}.xml")
    assert curl(f"{server.http}/{prefix}cfg{GS_MAC}.xml") == plain
    assert plain[0] == 200


def test_panasonic_bootstrap_and_case_of_mac(server: RunningServer) -> None:
    status, boot = curl(f"{server.http}/KX-HDV230.cfg")
    assert status == 200
    assert f"{server.http}/Config{{MAC}}.cfg".encode() in boot
    assert b"SIP_PASS" not in boot
    upper = curl(f"{server.http}/Config{PANA_MAC.upper()}.cfg")
    lower = curl(f"{server.http}/Config{PANA_MAC}.cfg")
    assert upper == lower
    assert upper[0] == 200


@pytest.mark.parametrize(
    "name",
    [
        "cfg000b82ffffff.xml",  # unknown MAC
        "ConfigFFFFFFFFFFFE.cfg",
        f"cfg{GS_MAC}",  # legacy binary: not served
        "cfg.xml",
        "cfggxp2170.xml",
        "ConfigCommon.cfg",
        "index.html",
        "KX-XYZ999.cfg",
    ],
)
def test_unknown_files_are_404_both_ways(server: RunningServer, name: str) -> None:
    status, body = curl(f"{server.http}/{name}")
    assert status == 404
    assert b"SIP" not in body
    code, _ = curl(f"tftp://127.0.0.1:{server.tftp_port}/{name}")
    assert code == 68  # curl: TFTP file not found


def test_user_agent_mac_mismatch_is_refused_and_recorded(server: RunningServer) -> None:
    other = GS_MAC[:-1] + ("0" if GS_MAC[-1] != "0" else "1")
    status, body = curl(
        f"{server.http}/cfg{GS_MAC}.xml",
        "-A", f"Grandstream Model HW GXP2170 SW 1.0.11.79 DevId {other}",
    )  # fmt: skip
    assert status == 403
    assert b"subscriber.password" not in body
    assert curl(f"{server.http}/cfg{GS_MAC}.xml", "-A", GS_UA)[0] == 200
    time.sleep(0.6)  # the timeline writer batches every 0.25 s
    shown = server.cli("device", "show", GS_MAC)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout.decode()
    assert "refused" in text
    assert "403" in text
    assert "1.0.11.79" in text  # firmware reported in the User-Agent


def test_fetch_goes_on_the_timeline_with_hash(server: RunningServer) -> None:
    status, body = curl(f"{server.http}/Grandstream/cfg{GS_MAC}.xml", "-A", GS_UA)
    assert status == 200
    time.sleep(0.6)
    shown = server.cli("device", "show", GS_MAC, "--limit", "200").stdout.decode()
    assert "http" in shown
    assert "127.0.0.1" in shown
    digest = hashlib.sha256(body).hexdigest()
    import sqlite3

    with sqlite3.connect(server.workdir / "inventory.db") as conn:
        hashes = {r[0] for r in conn.execute("SELECT sha256 FROM device_events")}
        agents = {r[0] for r in conn.execute("SELECT user_agent FROM device_events")}
    assert digest in hashes
    assert GS_UA in agents


def test_render_cli_prints_the_served_bytes(server: RunningServer) -> None:
    rendered = server.cli("render", GS_MAC)
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stdout == curl(f"{server.http}/cfg{GS_MAC}.xml")[1]
    assert server.cli("render", "zz").returncode == 2
    assert b"no device" in server.cli("render", "000b82ffffff").stderr


def _tftp_exchange(port: int, packet: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(packet, ("127.0.0.1", port))
        return sock.recvfrom(2048)[0]


DATA, ERROR = b"\x00\x03", b"\x00\x05"


@pytest.mark.parametrize(
    ("packet", "expected"),
    [
        (b"\x00", ERROR),  # one byte
        (b"\x00\x01../../etc/passwd\x00octet\x00", ERROR),
        (b"\x00\x01/etc/passwd\x00octet\x00", ERROR),
        (b"\x00\x01cfg\x00000b82\x00octet\x00", ERROR),
        (f"\x00\x01cfg{GS_MAC}.xml\x00octet\x00blksize\x00disable\x00".encode(), DATA),
        (f"\x00\x02cfg{GS_MAC}.xml\x00octet\x00".encode(), ERROR),  # write request
        (b"\x00\x09junk", ERROR),
    ],
)
def test_hostile_tftp_packets_get_an_error_and_the_server_keeps_serving(
    server: RunningServer, packet: bytes, expected: bytes
) -> None:
    reply = _tftp_exchange(server.tftp_port, packet)
    assert reply[:2] == expected  # a bad option value is dropped: plain DATA, no OACK
    code, body = curl(f"tftp://127.0.0.1:{server.tftp_port}/cfg{GS_MAC}.xml")
    assert code == 0
    assert body == curl(f"{server.http}/cfg{GS_MAC}.xml")[1]


def test_http_traversal_names_are_404(server: RunningServer) -> None:
    for path in ("/..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd", "/cfg%00.xml"):
        assert curl(f"{server.http}{path}", "--path-as-is")[0] == 404


def test_an_import_in_another_process_reaches_the_served_file(
    server: RunningServer, tmp_path: Path
) -> None:
    """Workers cache rendered files; the inventory revision tells them a sheet changed it."""
    mac = "000b82cc0001"
    sheet = tmp_path / "order.csv"
    row = {"tenant": "late-co", "extension": "3001", "direct_number": "", "mac": mac,
           "model": "GXP1610", "port": "1"}  # fmt: skip
    sheet.write_bytes(sheet_rows([{**row, "display_name": "First"}]))
    assert server.cli("import", str(sheet)).returncode == 0
    assert b"First" in curl(f"{server.http}/cfg{mac}.xml")[1]
    moved = tmp_path / "second.csv"
    moved.write_bytes(sheet_rows([{**row, "extension": "3002", "display_name": "Second"}]))
    assert server.cli("import", str(moved)).returncode == 0
    deadline = time.monotonic() + 5
    while b"Second" not in curl(f"{server.http}/cfg{mac}.xml")[1]:
        assert time.monotonic() < deadline, "the served file did not follow the import"
        time.sleep(0.2)
