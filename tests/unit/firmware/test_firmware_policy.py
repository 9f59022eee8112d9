"""The rollout rules (firmware.policy, firmware.watch) on plain data: no server, no clock."""

from __future__ import annotations

import datetime as dt

import pytest

from firmware.policy import (
    DeviceFacts,
    Rollout,
    RolloutState,
    Status,
    Step,
    applicable,
    decide,
    next_step,
    summarize,
)
from firmware.versions import parse_version
from firmware.watch import count_download, wave_failing, whole_download

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def step(version: str, min_version: str | None = None, revisions: tuple[str, ...] = ()) -> Step:
    return Step(f"id{version}", "grandstream", version, f"grandstream-{version}-x.bin",
                min_version, revisions)  # fmt: skip


PATH = (step("1.0.5.32"), step("1.0.9.103", "1.0.5.32"), step("1.0.11.79", "1.0.9.103"))


def rollout(**changes: object) -> Rollout:
    fields: dict[str, object] = {
        "name": "r1", "vendor": "grandstream", "model": "GXP2170", "steps": PATH,
        "started_at": T0, "canary_percent": 100,
    }  # fmt: skip
    fields.update(changes)
    return Rollout(**fields)  # type: ignore[arg-type]


def device(version: str | None = "1.0.3.1", **changes: object) -> DeviceFacts:
    fields: dict[str, object] = {"mac": "c074ad000001", "vendor": "grandstream",
                                 "model": "GXP2170", "version": version}  # fmt: skip
    fields.update(changes)
    return DeviceFacts(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("current", "expected"),
    [("1.0.3.1", "1.0.5.32"), ("1.0.5.32", "1.0.9.103"), ("1.0.7.1", "1.0.9.103"),
     ("1.0.9.103", "1.0.11.79"), ("1.0.11.79", None), ("1.0.12.0", None)],
)  # fmt: skip
def test_next_step_is_the_lowest_required_version_above(current: str, expected: str) -> None:
    found = next_step(PATH, parse_version("grandstream", current))
    assert (found.version if found else None) == expected


def test_a_device_walks_the_path_one_step_per_reported_version() -> None:
    walked = []
    version = "1.0.3.1"
    for _ in range(5):
        decision = decide([rollout()], device(version), T0)
        if decision.offer is None:
            break
        walked.append(decision.offer.version)
        version = decision.offer.version
    assert walked == ["1.0.5.32", "1.0.9.103", "1.0.11.79"]
    assert decide([rollout()], device(version), T0).status is Status.AT_TARGET


def test_held_unknown_paused_and_no_policy_get_no_offer() -> None:
    assert decide([rollout()], device(held=True), T0).status is Status.HELD
    assert decide([rollout()], device(None), T0).status is Status.UNKNOWN_VERSION
    assert decide([rollout()], device("garbage"), T0).status is Status.UNKNOWN_VERSION
    paused = rollout(state=RolloutState.PAUSED)
    assert decide([paused], device(), T0).status is Status.PAUSED
    assert decide([], device(), T0).status is Status.NO_POLICY
    other = device(model="GXP2160")
    assert decide([rollout()], other, T0).status is Status.NO_POLICY


def test_canary_first_then_the_rest_after_the_pause_or_a_release() -> None:
    canary, rest = "c074ad000001", "c074ad000002"
    staged = rollout(canary=frozenset({canary}), canary_percent=0,
                     pause=dt.timedelta(hours=1))  # fmt: skip
    assert decide([staged], device(mac=canary), T0).status is Status.UPGRADING
    assert decide([staged], device(mac=rest), T0).status is Status.WAITING
    later = T0 + dt.timedelta(hours=1)
    assert decide([staged], device(mac=rest), later).status is Status.UPGRADING
    by_command = rollout(canary=frozenset({canary}), canary_percent=0)
    assert decide([by_command], device(mac=rest), later).status is Status.WAITING
    released = rollout(canary=frozenset({canary}), canary_percent=0, released=True)
    assert decide([released], device(mac=rest), T0).status is Status.UPGRADING


def test_canary_percentage_is_stable_and_roughly_right() -> None:
    ten = rollout(canary_percent=10)
    macs = [f"c074ad{n:06x}" for n in range(2000)]
    chosen = [mac for mac in macs if ten.in_canary(mac)]
    assert 120 < len(chosen) < 280
    assert chosen == [mac for mac in macs if ten.in_canary(mac)]
    assert set(chosen) != {
        mac for mac in macs if rollout(name="r2", canary_percent=10).in_canary(mac)
    }


def test_most_specific_rollout_wins() -> None:
    general = rollout(name="all")
    tenant = rollout(name="acme", tenant="acme")
    one = rollout(name="one", devices=frozenset({"c074ad000001"}))
    facts = device(tenant="acme")
    assert applicable([general, tenant, one], facts).name == "one"
    assert applicable([general, tenant], facts).name == "acme"
    assert applicable([general, tenant], device(tenant="other")).name == "all"


def test_hardware_revision_targeting() -> None:
    v2 = rollout(hardware_revisions=frozenset({"V2"}))
    assert decide([v2], device(hardware_revision="V1"), T0).status is Status.NO_POLICY
    assert decide([v2], device(hardware_revision="V2"), T0).status is Status.UPGRADING
    fits_v2_only = (step("1.0.5.32", revisions=("V2",)),)
    picky = rollout(steps=fits_v2_only)
    assert decide([picky], device(hardware_revision="V1"), T0).status is Status.BLOCKED


def test_a_step_that_does_not_install_over_the_current_version_blocks() -> None:
    steep = rollout(steps=(step("1.0.11.79", "1.0.9.103"),))
    decision = decide([steep], device("1.0.3.1"), T0)
    assert decision.status is Status.BLOCKED
    assert "1.0.9.103" in decision.reason


def test_a_pin_sets_the_target_and_ignores_waves() -> None:
    waiting = rollout(canary_percent=0)
    pinned = device("1.0.5.32", pinned=PATH[1])
    assert decide([waiting], pinned, T0).offer == PATH[1]
    assert decide([waiting], device("1.0.9.103", pinned=PATH[1]), T0).at_target
    assert decide([], device("1.0.3.1", pinned=PATH[0]), T0).offer == PATH[0]


def test_summarize_counts_by_status() -> None:
    decisions = [decide([rollout()], device(v), T0) for v in ("1.0.3.1", "1.0.11.79", None)]
    progress = summarize(decisions)
    assert progress.total == 3
    assert progress.at_target == 1
    assert progress.counts == {"upgrading": 1, "at_target": 1, "unknown_version": 1}


def test_loop_detection_counts_whole_downloads_at_one_version() -> None:
    count, looping = count_download(None, "a.bin", "1.0.3.1", limit=3)
    count, looping = count_download(count, "a.bin", "1.0.3.1", limit=3)
    assert (count.downloads, looping) == (2, None)
    count, looping = count_download(count, "a.bin", "1.0.3.1", limit=3)
    assert looping is not None
    assert "3 times" in looping.reason
    moved, looping = count_download(count, "a.bin", "1.0.5.32", limit=3)
    assert (moved.downloads, looping) == (1, None)
    other, _ = count_download(count, "b.bin", "1.0.3.1", limit=3)
    assert other.downloads == 1


@pytest.mark.parametrize(
    ("method", "status", "content_range", "whole"),
    [("GET", 200, None, True), ("GET", 206, "bytes 0-999/1000", True),
     ("GET", 206, "bytes 0-0/1000", False), ("GET", 206, "bytes 0-99/1000", False),
     ("GET", 206, "bytes 1000-1999/2000", False), ("HEAD", 200, None, False),
     ("GET", 304, None, False)],
)  # fmt: skip
def test_whole_download(method: str, status: int, content_range: str | None, whole: bool) -> None:
    assert whole_download(method, status, content_range, 1000) is whole


def test_wave_failing_threshold() -> None:
    assert not wave_failing(10, 0, 0)
    assert not wave_failing(10, 2, 20)
    assert wave_failing(10, 3, 20)
    assert wave_failing(1, 1, 50)
