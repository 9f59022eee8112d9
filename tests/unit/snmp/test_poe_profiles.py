"""Vendor profiles: which interface a PSE port is, in which unit its watts come, how to switch
it. Pure functions of the tables' values, so tested on values without an agent."""

from __future__ import annotations

import pytest

from provisioner.snmp.profiles import (
    ARUBA_CX,
    CISCO,
    GENERIC,
    HP,
    NETGEAR,
    TPLINK,
    profile,
    profile_for,
)

CISCO_NAMES = {10101: "Gi1/0/1", 10105: "Gi1/0/5", 10201: "Te1/1/1", 20105: "Gi2/0/5"}


def test_port_to_interface_by_name_by_index_and_by_override() -> None:
    assert CISCO.ifindex(1, 5, CISCO_NAMES, {}) == 10105
    assert CISCO.ifindex(2, 5, CISCO_NAMES, {}) == 20105  # the second stack member
    assert CISCO.ifindex(1, 1, CISCO_NAMES, {}) == 10101  # not the ten-gig uplink "Te1/1/1"
    assert CISCO.ifindex(1, 9, CISCO_NAMES, {}) is None
    assert CISCO.ifindex(1, 5, CISCO_NAMES, {"1.5": 777}) == 777
    assert ARUBA_CX.ifindex(1, 7, {3: "1/1/7", 4: "1/1/8"}, {}) == 3
    names = {49157: "gigabitEthernet 1/0/5", 49177: "ten-gigabitEthernet 1/0/25"}
    assert TPLINK.ifindex(1, 5, names, {}) == 49157
    assert TPLINK.ifindex(1, 25, names, {}) is None
    assert HP.ifindex(1, 7, {7: "7", 8: "8"}, {}) == 7
    assert HP.ifindex(1, 9, {7: "7"}, {}) is None
    assert NETGEAR.ifindex(1, 7, {7: "0/7"}, {"1.7": 8}) == 8
    ambiguous = {1: "Gi1/0/5", 2: "Fa1/0/5"}
    assert CISCO.ifindex(1, 5, ambiguous, {}) is None  # two candidates: say nothing, not guess


def test_units_indexes_and_power_switch_objects() -> None:
    assert CISCO.power_mw(4350) == 4350
    assert TPLINK.power_mw(43) == 4300  # 0.1 W
    assert GENERIC.power_mw(None) is None
    assert CISCO.power_index(1, 5) == (1, 5)
    assert TPLINK.power_index(1, 5) == (5,)
    assert CISCO.admin_oid(2, 5) == "1.3.6.1.2.1.105.1.1.1.3.2.5"
    assert (CISCO.admin_on, CISCO.admin_off) == (1, 2)
    assert TPLINK.admin_oid(1, 5) == "1.3.6.1.4.1.11863.6.56.1.1.2.1.1.2.5"
    assert (TPLINK.admin_on, TPLINK.admin_off) == (1, 0)


def test_auto_picks_the_profile_by_sys_object_id() -> None:
    assert profile_for("1.3.6.1.4.1.9.1.1208") is CISCO
    assert profile_for("1.3.6.1.4.1.11.2.3.7.11.153") is HP
    assert profile_for("1.3.6.1.4.1.47196.4.1.1.1.100") is ARUBA_CX
    assert profile_for("1.3.6.1.4.1.4526.100.4.39") is NETGEAR
    assert profile_for("1.3.6.1.4.1.11863.5.100") is TPLINK
    assert profile_for("1.3.6.1.4.1.2011.2.23") is GENERIC  # Huawei: no profile yet
    assert profile_for("1.3.6.1.4.1.110") is GENERIC  # not Cisco's 1.3.6.1.4.1.9
    assert profile_for(None) is GENERIC
    with pytest.raises(ValueError, match="use one of"):
        profile("juniper")
