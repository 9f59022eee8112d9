"""A carrier for gateway tests: Kamailio with auth_db that wants its terminals to authenticate.

Like a carrier SIP service or an NTT Hikari Denwa home gateway (docs/gateway32.md, 'Trunk
registration'): it challenges every REGISTER (401) and every INVITE from a terminal (407) against
its subscriber table (db_text), keeps registrations in memory, relays an authenticated call to
``callee`` (a SIPp UAS standing in for the far end) and rings the registered account's contact
when ``pstn`` (a SIPp UAC) calls the account. Each REGISTER and INVITE is logged as a
``CARRIER`` line, so a test counts what the gateway really sent.

    carrier = start_carrier(lab, callee=uas.address, pstn_port=port, user="0312345678",
                            password="s3cret")
    carrier.registers()  # [{"auth": "yes", "expires": "60", ...}, ...]
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import jinja2

from gateway32.kamailio_modules import kamailio_modules_dir
from tests.support.ports import LOOPBACK, free_udp_port
from tests.support.sip_harness import BareProxy, SipLab, parse_logged, wait_bound

REALM = "carrier.test"


@dataclass
class Carrier(BareProxy):
    """The running carrier Kamailio (stopped with the lab)."""

    def lines(self, kind: str) -> list[dict[str, str]]:
        """The ``CARRIER <kind> ...`` lines logged so far, as field dicts."""
        log = (self.workdir / "kamailio.log").read_text(errors="replace")
        found = []
        for line in log.splitlines():
            _, marker, rest = line.partition("CARRIER ")
            if marker:
                logged_kind, fields = parse_logged(rest)
                if logged_kind == kind:
                    found.append(fields)
        return found

    def registers(self) -> list[dict[str, str]]:
        return self.lines("register")

    def log(self) -> str:
        return (self.workdir / "kamailio.log").read_text(errors="replace")


def start_carrier(
    lab: SipLab, *, callee: str, pstn_port: int, user: str, password: str,
    port: int | None = None,
) -> Carrier:  # fmt: skip
    """A carrier on a free loopback port whose only subscriber is ``user`` / ``password``."""
    port = port or free_udp_port()
    workdir = lab.workdir / f"carrier-{len(lab.proxies)}"
    database = workdir / "db"
    database.mkdir(parents=True)
    (database / "version").write_text(
        "id(int,auto) table_name(string) table_version(int) \n0:subscriber:7\n"
    )
    (database / "subscriber").write_text(
        "id(int,auto) username(string) domain(string) password(string) ha1(string) "
        f"ha1b(string) \n1:{user}:{REALM}:{password}:-:-\n"
    )
    config = workdir / "kamailio.cfg"
    config.write_text(
        CARRIER.render(
            listen=f"{LOOPBACK}:{port}", callee=callee, pstn=f"{LOOPBACK}:{pstn_port}",
            realm=REALM, database=database, rundir=workdir, modules=str(kamailio_modules_dir()),
        )
    )  # fmt: skip
    log = workdir / "kamailio.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["kamailio", "-f", str(config), "-DD", "-E", "-m", "64", "-M", "8"],
            cwd=workdir, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    carrier = Carrier(process, LOOPBACK, port, workdir)
    lab.proxies.append(carrier)
    wait_bound(process, LOOPBACK, port, "carrier kamailio", log)
    return carrier


CARRIER = jinja2.Environment(autoescape=False, keep_trailing_newline=True).from_string(  # noqa: S701 - a Kamailio config, not HTML
    """#!KAMAILIO
# Test carrier rendered by tests/support/sip_carrier.py: challenges REGISTER and INVITE.
debug=1
log_stderror=yes
children=2
disable_tcp=yes
auto_aliases=no
listen=udp:{{ listen }}
alias="{{ listen }}"
mpath="{{ modules }}"
rundir="{{ rundir }}"

loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "db_text.so"
loadmodule "auth.so"
loadmodule "auth_db.so"

modparam("usrloc", "db_mode", 0)
modparam("registrar", "min_expires", 10)
modparam("auth_db", "db_url", "text://{{ database }}")
modparam("auth_db", "calculate_ha1", 1)
modparam("auth_db", "password_column", "password")
modparam("auth_db", "load_credentials", "")
modparam("tm", "fr_inv_timer", 30000)

request_route {
    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
    if (has_totag()) {
        if (loose_route()) { t_relay(); exit; }
        if (is_method("ACK")) {
            if (t_check_trans()) { t_relay(); }
            exit;
        }
        sl_send_reply("404", "Not here");
        exit;
    }
    if (is_method("CANCEL")) {
        if (t_check_trans()) { t_relay(); }
        exit;
    }
    if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
    if (is_method("REGISTER")) {
        $var(auth) = "no";
        if (is_present_hf("Authorization")) { $var(auth) = "yes"; }
        $var(line) = "user=" + $tU + " auth=" + $var(auth) + " contact=" + $ct;
        xlog("L_NOTICE", "CARRIER register $var(line) expires=$hdr(Expires)\\n");
        if (!www_authenticate("{{ realm }}", "subscriber")) {
            www_challenge("{{ realm }}", "1");
            exit;
        }
        if ($au != $tU) { sl_send_reply("403", "Forbidden"); exit; }
        consume_credentials();
        save("location");
        exit;
    }
    if (!is_method("INVITE")) { sl_send_reply("405", "Method Not Allowed"); exit; }
    record_route();
    if ($si + ":" + $sp == "{{ pstn }}") {
        # a call from the network to the account: ring its registered contact
        xlog("L_NOTICE", "CARRIER inbound ruri=$ru to=$tu\\n");
        if (!lookup("location")) { sl_send_reply("480", "Not Registered"); exit; }
        t_relay();
        exit;
    }
    $var(auth) = "no";
    if (is_present_hf("Proxy-Authorization")) { $var(auth) = "yes"; }
    xlog("L_NOTICE", "CARRIER invite src=$si:$sp ruri=$ru auth=$var(auth) cseq=$cs\\n");
    if (!proxy_authenticate("{{ realm }}", "subscriber")) {
        proxy_challenge("{{ realm }}", "1");
        exit;
    }
    consume_credentials();
    $du = "sip:{{ callee }}";
    t_relay();
    exit;
}
"""
)
