"""Firmware images from ``provisioner serve``, fetched by real clients: curl (HTTP ranges,
resume, ETag) and tftp-hpa / curl tftp:// for a 30 MB image, imported through the CLI.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import RunningServer, start_firmware_server, stop_server

SIZE = 30 * 1024 * 1024


@dataclass
class Served:
    server: RunningServer
    data: bytes
    name: str
    sha256: str


def _import(server: RunningServer, path: Path, *args: str) -> dict[str, str]:
    result = server.cli("firmware", "import", str(path), *args)
    assert result.returncode == 0, result.stderr.decode()
    return {
        key.strip(): value.strip()
        for key, value in (line.split(":", 1) for line in result.stdout.decode().splitlines())
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("firmware-serve")
    data = random.Random(2170).randbytes(SIZE)
    (workdir / "gxp2170.bin").write_bytes(data)
    server = start_firmware_server(workdir)
    try:
        fields = _import(
            server, workdir / "gxp2170.bin", "--vendor", "grandstream", "--model", "GXP2170",
            "--model", "GXP2160", "--version", "1.0.11.79", "--min-version", "1.0.9.103",
        )  # fmt: skip
        sha256 = hashlib.sha256(data).hexdigest()
        assert fields["sha256"] == sha256
        (workdir / "gxp2170.bin").unlink()  # served from the store, not from the source
        yield Served(server, data, fields["file name"], sha256)
    finally:
        stop_server(server)


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["curl", "-s", "-S", *args], capture_output=True, timeout=60, check=False)


def http_get(url: str, *args: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of one curl request (``-I``: no body)."""
    result = curl(*args, url) if "-I" in args else curl("-D", "-", "-o", "-", *args, url)
    assert result.returncode == 0, result.stderr.decode()
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines)}
    return int(status_line.split()[1]), headers, body


def test_http_whole_image_with_etag(served: Served) -> None:
    url = f"{served.server.http}/firmware/{served.name}"
    status, headers, body = http_get(url)
    assert status == 200
    assert body == served.data
    assert headers["etag"] == f'"{served.sha256}"'
    assert headers["accept-ranges"] == "bytes"
    assert headers["content-type"] == "application/octet-stream"
    assert "max-age=" in headers["cache-control"]
    status, headers, body = http_get(url, "-I")
    assert (status, headers["content-length"], body) == (200, str(SIZE), b"")
    status, _, body = http_get(url, "-H", f'If-None-Match: "{served.sha256}"')
    assert (status, body) == (304, b"")


@pytest.mark.parametrize(
    ("spec", "start", "end"), [("0-99", 0, 100), ("1000-", 1000, SIZE), ("-10", SIZE - 10, SIZE)]
)
def test_http_ranges(served: Served, spec: str, start: int, end: int) -> None:
    status, headers, body = http_get(f"{served.server.http}/firmware/{served.name}", "-r", spec)
    assert status == 206
    assert body == served.data[start:end]
    assert headers["content-range"] == f"bytes {start}-{end - 1}/{SIZE}"


def test_http_if_range(served: Served) -> None:
    url = f"{served.server.http}/firmware/{served.name}"
    status, _, body = http_get(url, "-r", "5-9", "-H", f'If-Range: "{served.sha256}"')
    assert (status, body) == (206, served.data[5:10])
    status, _, body = http_get(url, "-r", "5-9", "-H", 'If-Range: "stale"')
    assert status == 200
    assert body == served.data  # the image changed under the client: start over


def test_http_resumed_download(served: Served, tmp_path: Path) -> None:
    partial = tmp_path / "partial.bin"
    partial.write_bytes(served.data[:12_345_678])
    result = curl("-C", "-", "-o", str(partial), f"{served.server.http}/firmware/{served.name}")
    assert result.returncode == 0, result.stderr.decode()
    assert partial.read_bytes() == served.data


@pytest.mark.parametrize(
    "path",
    ["firmware/nothing.bin", "firmware/grandstream-1.0.11.79-000000000000.bin",
     "firmware/../firmware/x.bin", "firmware/index.json", "firmware/blobs"],
)  # fmt: skip
def test_http_unknown_name_is_a_plain_404(served: Served, path: str) -> None:
    status, _, body = http_get(f"{served.server.http}/{path}", "--path-as-is")
    assert (status, body) == (404, b"not found\n")


def test_tftp_hpa_fetches_the_image(served: Served, tmp_path: Path) -> None:
    out = tmp_path / "hpa.bin"
    result = subprocess.run(
        ["tftp", "127.0.0.1", str(served.server.tftp_port), "-m", "binary", "-c", "get",
         f"firmware/{served.name}", str(out)],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.exists(), result.stdout.decode() + result.stderr.decode()
    assert hashlib.sha256(out.read_bytes()).hexdigest() == served.sha256


@pytest.mark.parametrize("prefix", ["firmware/", ""])
def test_curl_tftp_fetches_the_image(served: Served, tmp_path: Path, prefix: str) -> None:
    out = tmp_path / "curl.bin"
    url = f"tftp://127.0.0.1:{served.server.tftp_port}/{prefix}{served.name}"
    result = curl("--tftp-blksize", "1468", "-o", str(out), url)
    assert result.returncode == 0, result.stderr.decode()
    assert hashlib.sha256(out.read_bytes()).hexdigest() == served.sha256


def test_tftp_unknown_image_is_not_found(served: Served) -> None:
    url = f"tftp://127.0.0.1:{served.server.tftp_port}/firmware/nothing.bin"
    assert curl("-o", "/dev/null", url).returncode == 68  # CURLE_TFTP_NOTFOUND


def test_cli_list_show_remove_and_serving_follows(served: Served, tmp_path: Path) -> None:
    server = served.server
    small = tmp_path / "kx.bin"
    small.write_bytes(b"panasonic image\n" * 64)
    fields = _import(
        server, small, "--vendor", "panasonic", "--model", "KX-HDV230", "--version", "01.133"
    )
    listing = server.cli("firmware", "list").stdout.decode()
    assert fields["id"] in listing
    assert served.name in listing
    shown = server.cli("firmware", "show", fields["id"])
    assert shown.returncode == 0
    assert f"file name:          {fields['file name']}" in shown.stdout.decode()
    url = f"{server.http}/firmware/{fields['file name']}"
    assert http_get(url)[2] == small.read_bytes()
    again = server.cli(
        "firmware", "import", str(small), "--vendor", "panasonic", "--model", "KX-HDV230",
        "--version", "1.133",
    )  # fmt: skip
    assert again.returncode != 0
    assert b"duplicate" in again.stderr
    assert server.cli("firmware", "remove", fields["id"]).returncode == 0
    assert http_get(url)[0] == 404
    missing = server.cli("firmware", "show", fields["id"])
    assert missing.returncode != 0
    assert b"no image" in missing.stderr
