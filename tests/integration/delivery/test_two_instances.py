"""Two ``serve`` instances on one PostgreSQL inventory behind nginx as the load balancer.

What several instances must hold together (docs/security.md, "Digest replay" and "Lockout"):
a field storm through the balancer delivers every file; a nonce issued by one instance is
accepted by the other; a lockout decided by one is honoured by the other; and an instance
killed mid-storm (SIGKILL, its whole process tree) loses no request nginx can retry on the
other. Phones fetch through nginx from 127.0.0.5 (one NAT address, as nginx reports it in
X-Forwarded-For); the instances trust nginx's address, 127.0.0.1, as their proxy.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import update

from provisioner.app.service import NONCE_STORE_ENV, open_service
from provisioner.db.models import Device, DeviceState
from provisioner.domain.delivery.pipeline import Fetch, Outcome
from provisioner.domain.delivery.render_cache import CHECK_INTERVAL
from provisioner.domain.inventory.lookup import load_device
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.settings import Settings
from tests.support.digest import digest_header
from tests.support.ports import free_port
from tests.support.server import TEST_KEY, RunningServer, start_server, stop_server
from tests.support.waiting import tcp_port_open, wait_until

pytestmark = pytest.mark.postgres

DEVICES = 40
ROUNDS = 3  # each device boots this many times in the storm
PHONES, ATTACKER, PROXY = "127.0.0.5", "127.0.0.77", "127.0.0.1"
CAPACITY = 400  # per worker; a wrong password costs 20
LOCKOUT_REFRESH = 1.0  # seconds: how old a worker's copy of the lockouts may be (LockoutBoard)


@dataclass
class Phone:
    path: str
    user: str
    password: str
    body: bytes  # the file as the installed device gets it


@dataclass
class Cluster:
    instances: list[RunningServer]
    nginx_port: int
    nginx_log: Path
    phones: list[Phone]


def _database(postgres_url: str) -> str:
    """A database of this module's own on the session's cluster."""
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS two_instances")
        connection.execute("CREATE DATABASE two_instances")
    return postgres_url.rsplit("/", 1)[0] + "/two_instances"


def _inventory(url: str, base: str) -> list[Phone]:
    """Installed devices with their credentials, and each one's file as the field gets it."""
    rows = [
        {"tenant": f"site-{i % 4}", "extension": f"{3000 + i}", "direct_number": "",
         "display_name": f"Phone {i}", "mac": f"{0x02C000000000 + i:012x}", "model": "GXP2170",
         "port": "1"}
        for i in range(DEVICES)
    ]  # fmt: skip
    service = open_service(Settings(db=url, secret_key=TEST_KEY, http_base=base))
    service.provisioner.timeline = None
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows(rows)).ok
    with service.db.session() as session:
        session.execute(update(Device).values(state=DeviceState.INSTALLED))
    phones = []
    for row in rows:
        with service.db.session() as session:
            device = load_device(session, row["mac"])
            assert device is not None
            assert device.http_user
            assert device.http_password_encrypted
            user, password = device.http_user, service.box.decrypt(device.http_password_encrypted)
        name = f"cfg{row['mac']}.xml"
        delivery = service.provisioner.deliver(
            Fetch(name, "https", "198.51.100.7", basic=(user, password))
        )
        assert delivery.outcome is Outcome.SERVED
        phones.append(Phone(f"/{name}", user, password, delivery.body))
    service.close()
    return phones


def _start_nginx(workdir: Path, port: int, upstreams: list[int]) -> subprocess.Popen[bytes]:
    servers = "\n".join(
        f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;" for p in upstreams
    )
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    upstream provisioners {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://provisioners;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_next_upstream error timeout http_502;
            proxy_next_upstream_tries 2;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
        }}
    }}
}}
"""
    )
    user = ["-g", "user root;"] if os.geteuid() == 0 else []
    process = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(workdir), *user])
    assert wait_until(lambda: tcp_port_open(port), 10)
    return process


@pytest.fixture(scope="module")
def cluster(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if shutil.which("nginx") is None:
        pytest.fail("nginx not installed: `make test` installs it")
    url = _database(postgres_url)
    nginx_port = free_port()
    base = f"http://127.0.0.1:{nginx_port}"
    phones = _inventory(url, base)
    env = {
        "PROVISIONER_HTTP_BASE": base,
        "PROVISIONER_TRUSTED_PROXIES": f"{PROXY}/32",
        "PROVISIONER_STAGING_NETWORKS": "127.0.0.2/32",
        "PROVISIONER_HTTP_WORKERS": "2",
        "PROVISIONER_RATE_CAPACITY": str(CAPACITY),
        "PROVISIONER_LOCKOUT_SECONDS": "600",
    }
    instances = []
    try:
        for name in ("a", "b"):  # one after the other: each seeds the demo tenant if missing
            instances.append(start_server(tmp_path_factory.mktemp(name), url, env_extra=env))
        workdir = tmp_path_factory.mktemp("nginx")
        nginx = _start_nginx(workdir, nginx_port, [i.http_port for i in instances])
        try:
            yield Cluster(instances, nginx_port, workdir / "nginx-error.log", phones)
        finally:
            nginx.terminate()
            nginx.wait(timeout=20)
    finally:
        for instance in instances:
            if instance.process.poll() is None:
                stop_server(instance)


def _get(
    port: int, path: str, source: str, authorization: str | None = None
) -> tuple[int, bytes, str]:
    """Status, body and WWW-Authenticate of one GET on a connection of its own from ``source``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                            source_address=(source, 0))  # fmt: skip
    try:
        connection.request(
            "GET", path, headers={"Authorization": authorization} if authorization else {}
        )
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("WWW-Authenticate") or ""
    finally:
        connection.close()


def _boot(port: int, phone: Phone, source: str = PHONES) -> tuple[int, bytes]:
    """What a phone does: the request without credentials, the challenge, the Digest answer."""
    status, _, challenge = _get(port, phone.path, source)
    if status != 401:
        return status, b""
    header = digest_header(challenge, phone.user, phone.password, phone.path)
    status, body, _ = _get(port, phone.path, source, header)
    return status, body


def test_a_storm_through_the_balancer_delivers_every_file(cluster: Cluster) -> None:
    work = [phone for _ in range(ROUNDS) for phone in cluster.phones]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda phone: _boot(cluster.nginx_port, phone), work))
    assert [status for status, _ in answers] == [200] * len(work)
    assert all(body == phone.body for (_, body), phone in zip(answers, work, strict=True))


def test_a_nonce_issued_by_one_instance_is_accepted_by_the_other(cluster: Cluster) -> None:
    phone = cluster.phones[0]
    for issuer, answerer in (cluster.instances, reversed(cluster.instances)):
        status, _, challenge = _get(issuer.http_port, phone.path, PHONES)
        assert status == 401
        header = digest_header(challenge, phone.user, phone.password, phone.path)
        status, body, _ = _get(answerer.http_port, phone.path, PHONES, header)
        assert (status, body) == (200, phone.body)
        assert _get(answerer.http_port, phone.path, PHONES, header)[0] == 401  # its replay


def test_a_lockout_decided_by_one_instance_is_honoured_by_the_other(cluster: Cluster) -> None:
    first, second = cluster.instances
    phone = cluster.phones[1]
    wrong = Phone(phone.path, phone.user, "not-the-password", phone.body)
    # Wrong passwords to the first instance until one of its workers locks the attacker out
    # (each worker's bucket takes about CAPACITY / 21 of them: a challenge and a wrong answer).
    statuses: list[int] = []
    while len(statuses) < CAPACITY // 21 * 4 and 429 not in statuses:
        statuses.append(_boot(first.http_port, wrong, ATTACKER)[0])
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {401}
    # Every worker reads the lockouts at most a second old: past that, whichever worker of
    # the other instance, or of either behind the balancer (which names the attacker in
    # X-Forwarded-For), the attacker meets, refuses it: a scan and a wrong password get 429
    # (where not locked: 404 and 401). The right password is proof, never refused.
    time.sleep(LOCKOUT_REFRESH + 0.5)
    for _ in range(6):
        assert _get(second.http_port, "/cfg.xml", ATTACKER)[0] == 429
        assert _boot(cluster.nginx_port, wrong, ATTACKER)[0] == 429
        assert _boot(cluster.nginx_port, phone, ATTACKER) == (200, phone.body)
        assert _boot(cluster.nginx_port, phone) == (200, phone.body)  # the office is not locked


def test_a_change_to_one_device_reaches_both_instances(cluster: Cluster, postgres_url: str) -> None:
    """Written where either instance's API would write it; each instance's workers drop the
    files that change (render_changes on PostgreSQL: an account's rename reaches every phone
    of its tenant, whose default BLF keys are labelled with it) and serve them anew."""
    phone, other = cluster.phones[2], cluster.phones[3]
    url = postgres_url.rsplit("/", 1)[0] + "/two_instances"
    service = open_service(Settings(db=url, secret_key=TEST_KEY, http_base=_base(cluster)))
    service.provisioner.timeline = None
    try:
        with service.db.session() as session:
            device = load_device(session, phone.path[4:-4])
            assert device is not None
            device.lines[0].account.display_name = "Renamed on PostgreSQL"
        fresh = {
            each.path: service.provisioner.deliver(
                Fetch(each.path[1:], "https", "198.51.100.7", basic=(each.user, each.password))
            ).body
            for each in cluster.phones
        }
    finally:
        service.close()
    assert b"Renamed on PostgreSQL" in fresh[phone.path]
    for instance in cluster.instances:

        def renamed(port: int = instance.http_port) -> bool:
            return _boot(port, phone) == (200, fresh[phone.path])

        assert wait_until(renamed, 10), _boot(instance.http_port, phone)[0]
        assert _boot(instance.http_port, other) == (200, fresh[other.path])
    # One worker of each instance answered the new file; the other follows within its cache's
    # check interval (a second): past it, every worker serves the new files.
    time.sleep(CHECK_INTERVAL + 0.5)
    for each in cluster.phones:
        each.body = fresh[each.path]  # what the storm of the last test expects


def _base(cluster: Cluster) -> str:
    return f"http://127.0.0.1:{cluster.nginx_port}"


def _kill_tree(pid: int) -> None:
    """SIGKILL a process we started and every process under it, as a crash would end them;
    then remove the spent-nonce directory its workers were given (a crash leaves it on tmpfs,
    and the next ``serve`` makes a new one)."""
    pids, pending, stores = [], [pid], set()
    while pending:
        current = pending.pop()
        pids.append(current)
        try:
            environ = Path(f"/proc/{current}/environ").read_bytes().split(b"\0")
        except OSError:
            environ = []
        prefix = f"{NONCE_STORE_ENV}=".encode()
        stores.update(Path(v[len(prefix) :].decode()) for v in environ if v.startswith(prefix))
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                pending.extend(int(child) for child in (task / "children").read_text().split())
            except OSError:
                continue
    for each in pids:
        try:
            os.kill(each, signal.SIGKILL)
        except ProcessLookupError:
            continue
    assert stores  # the workers had one
    for store in stores:
        shutil.rmtree(store.parent, ignore_errors=True)


def test_killing_an_instance_mid_storm_loses_no_request(cluster: Cluster) -> None:
    """Runs last in this module: the killed instance stays down."""
    work = [phone for _ in range(ROUNDS) for phone in cluster.phones]
    done = threading.Semaphore(0)

    def boot(phone: Phone) -> tuple[int, bytes]:
        answer = _boot(cluster.nginx_port, phone)
        done.release()
        return answer

    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(boot, phone) for phone in work]
        for _ in range(len(work) // 3):  # a third of the storm is through: one instance dies
            done.acquire()
        victim = cluster.instances[1]
        _kill_tree(victim.process.pid)
        victim.process.wait(timeout=20)
        answers = [future.result() for future in futures]
    assert [status for status, _ in answers] == [200] * len(work)
    assert all(body == phone.body for (_, body), phone in zip(answers, work, strict=True))
    # nginx did meet the dead instance, and retried those requests on the living one
    assert f'upstream: "http://127.0.0.1:{victim.http_port}/' in cluster.nginx_log.read_text()
