"""Refusals told on a device's timeline: once per device and reason per interval, capped in
all, with bounded memory (a storm or an attacker cannot flood the timeline writer)."""

from __future__ import annotations

from provisioner.domain.delivery.told_refusals import ToldRefusals


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_once_per_device_and_reason_per_interval() -> None:
    clock = Clock()
    told = ToldRefusals(interval=60, per_second=100, clock=clock)
    assert told.tell("a", "credentials bad")
    assert not told.tell("a", "credentials bad")
    assert told.tell("a", "network not allowed")  # another reason is news
    assert told.tell("b", "credentials bad")  # another device too
    clock.now += 59.9
    assert not told.tell("a", "credentials bad")
    clock.now += 0.2
    assert told.tell("a", "credentials bad")


def test_a_storm_of_distinct_devices_is_capped_per_second() -> None:
    clock = Clock()
    told = ToldRefusals(interval=60, per_second=5, clock=clock)
    assert [told.tell(f"mac{i}", "credentials bad") for i in range(8)] == [True] * 5 + [False] * 3
    clock.now += 1
    assert told.tell("mac5", "credentials bad")  # dropped, not remembered: told next second


def test_memory_is_bounded_and_forgets_the_longest_quiet() -> None:
    clock = Clock()
    told = ToldRefusals(interval=60, per_second=1000, max_keys=3, clock=clock)
    for mac in ("a", "b", "c", "d"):
        assert told.tell(mac, "r")
    assert len(told._last) == 3
    assert told.tell("a", "r")  # forgotten, so told again
    assert not told.tell("d", "r")
