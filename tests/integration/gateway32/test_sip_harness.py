"""The SIPp harness against a bare Kamailio proxy (no gateway32): every scenario, both proxy
modes, the counters and logged Reason headers it reads back, and that it leaves nothing running."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.ports import free_udp_port
from tests.support.sip_harness import DID, SipLab, udp_bound

pytestmark = pytest.mark.sip


@pytest.mark.parametrize("stateful", [True, False], ids=["stateful", "stateless"])
def test_calls_through_a_bare_proxy_are_counted(lab: SipLab, stateful: bool) -> None:
    core = lab.uas("uas_pbx.xml")
    proxy = lab.bare_proxy(core.address, stateful=stateful)
    run = lab.uac(proxy.address, "uac_limit.xml", calls=20, rate=40, hold_ms=1500, caller="2001")
    assert run.returncode == 0, run.describe()
    assert (run.created, run.successful, run.failed) == (20, 20, 0), run.describe()
    assert run.answered == 20
    assert run.refused == 0
    assert run.count("BYE", "Sent") == 20
    assert run.retransmissions == 0, run.describe()
    assert run.max_concurrent >= 10  # sampled each second; all 20 are up at 1 s

    seen = core.stop()
    assert seen.count("INVITE") == 20
    assert seen.count("BYE") == 20  # in-dialog BYE reached the core through Record-Route
    invites = seen.events("invite")
    assert len(invites) == 20
    assert all(invite["ruri"].startswith(f"sip:{DID}@") for invite in invites)
    assert all("<sip:2001@" in invite["from"] for invite in invites)


def test_cancel_while_ringing(lab: SipLab) -> None:
    core = lab.uas("uas_ring.xml")
    proxy = lab.bare_proxy(core.address)
    run = lab.uac(proxy.address, "uac_cancel.xml", calls=4, rate=20)
    assert run.returncode == 0, run.describe()
    assert run.count("CANCEL", "Sent") == 4
    assert run.count("487") == 4
    assert core.stop().count("CANCEL") == 4


def test_callee_hangs_up(lab: SipLab) -> None:
    core = lab.uas("uas_bye.xml")
    proxy = lab.bare_proxy(core.address)
    run = lab.uac(proxy.address, "uac_wait_bye.xml", calls=3, rate=20)
    assert run.returncode == 0, run.describe()
    assert run.count("BYE") == 3
    assert core.stop().count("BYE", "Sent") == 3


def test_error_answers_are_read_with_their_reason(lab: SipLab) -> None:
    busy = lab.uas("uas_busy.xml")
    proxy = lab.bare_proxy(busy.address)
    run = lab.uac(proxy.address, "uac_expect_error.xml", calls=3, rate=20)
    assert run.returncode == 0, run.describe()
    finals = run.events("final")
    assert [final["code"] for final in finals] == ["486"] * 3
    assert all(final["reason"].startswith("Q.850;cause=17") for final in finals), finals
    assert all(final["retry_after"] == "" for final in finals)

    failing = lab.uas("uas_5xx.xml")
    proxy = lab.bare_proxy(failing.address)
    run = lab.uac(proxy.address, "uac_expect_error.xml", calls=2, rate=20)
    assert [final["code"] for final in run.events("final")] == ["500"] * 2, run.describe()
    assert all(final["reason"] == "" for final in run.events("final"))


def test_nobody_listening_gives_a_timeout_answer(lab: SipLab) -> None:
    proxy = lab.bare_proxy(f"127.0.0.1:{free_udp_port()}")
    run = lab.uac(proxy.address, "uac_expect_error.xml", calls=1, rate=1, seconds=20)
    assert run.returncode == 0, run.describe()
    assert [final["code"] for final in run.events("final")] == ["408"]


def test_a_vanished_core_answers_nothing_after_the_call_is_up(lab: SipLab) -> None:
    core = lab.uas("uas_vanish.xml", auto_answer=False)
    proxy = lab.bare_proxy(core.address)
    run = lab.uac(
        proxy.address, "uac_limit.xml", calls=1, hold_ms=100, seconds=6, extra=["-max_retrans", "2"]
    )
    assert run.answered == 1
    assert run.count("BYE", "Sent") == 1
    assert run.count("BYE", "Retrans") >= 1  # nobody answers the BYE
    assert run.successful == 0, run.describe()
    assert core.stop().count("BYE") >= 1


def test_everything_started_is_gone_after_close(tmp_path: Path) -> None:
    with SipLab(tmp_path) as lab:
        core = lab.uas("uas_pbx.xml")
        proxy = lab.bare_proxy(core.address)
        carrier = lab.start_uac(proxy.address, "uac_limit.xml", calls=5, rate=5, hold_ms=5000)
    assert not core.running()
    assert not carrier.running()
    assert proxy.process.poll() is not None
    assert not udp_bound("127.0.0.1", proxy.port)
    assert not udp_bound("127.0.0.1", core.port)
