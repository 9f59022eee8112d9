"""Every parameter of every Grandstream sample file against the names of the vendor's template
for its family (``provisioner/vendors/grandstream/catalogue.py``).

A few names we write are not in the template we have, each for a reason given below; the
list is exact, so a new unknown name (or one that becomes known) fails here.
"""

from __future__ import annotations

import pytest

from provisioner.vendors.grandstream import catalogue
from tests.support.golden_devices import CONTEXT, GoldenCase, golden_cases

# (family, name): why it is written although the family's template we have lacks it.
NOT_IN_TEMPLATE = {
    # End hour and random time of the daily check: in the GXP21xx/GRP templates, not in
    # GXP16xx 1.0.4.33's (which predates them); docs/vendors.md §1.4.
    ("gxp16xx", "P8458"): "newer firmware",
    ("gxp16xx", "P8459"): "newer firmware",
    # Newer HT firmware reads the check mode here ([ATA-PHP], secondary; plan.py docstring).
    ("ht80x", "P22296"): "newer firmware",
    ("ht81x", "P22296"): "newer firmware",
    # Profile 2 of HT81x: the +700 set of HT80x port 2 (docs/vendors.md §1.6), absent from the
    # HT814 1.0.63.3 and HT818 1.0.10.6 templates we have. Left as it was: to check on hardware.
    **{("ht81x", name): "profile 2" for name in (
        "P48", "P747", "P748", "P731", "P752", "P732", "P710", "P4417", "P864", "P863",
        # ... and its NAT, failover and DNS keys (docs/vendors.md §7).
        "P987", "P702", "P730", "P740", "P4568", "P20502")},
}  # fmt: skip

GRANDSTREAM = [case for case in golden_cases() if case.module.name == "grandstream"]


@pytest.mark.parametrize("case", GRANDSTREAM, ids=lambda case: case.filename)
def test_every_written_name_is_in_the_family_template(case: GoldenCase) -> None:
    assert case.device is not None
    family = case.device.model.family
    plan = case.module.plan(case.request, case.device, CONTEXT)
    assert plan is not None
    unknown = {name for name, _ in plan.params if not catalogue.knows(family, name)}
    assert unknown == {name for fam, name in NOT_IN_TEMPLATE if fam == family}


def test_every_family_has_its_template_and_named_source() -> None:
    for family in catalogue.FAMILIES:
        assert len(catalogue.template_names(family)) > 300
        assert any("fusionpbx/fusionpbx@" in source for source in catalogue.sources(family))


def test_the_tr069_switch_is_where_the_templates_put_it() -> None:
    """Issue 15 item 5: GXP16xx's template has no P1409; HT's has; GXP21xx has the alias."""
    assert not catalogue.knows("gxp16xx", "P1409")
    assert catalogue.knows("gxp16xx", "P4503")
    assert catalogue.knows("ht80x", "P1409")
    assert catalogue.knows("gxp21xx", "tr069.enable")


def test_loop_names_match_any_index_and_nothing_else() -> None:
    assert catalogue.knows("gxp21xx", "pks.vpk.48.keyMode")
    assert catalogue.knows("grp26xx", "account.4.sip.userid")
    assert not catalogue.knows("grp26xx", "pks.vpk.x.keyMode")
    assert not catalogue.knows("gxp21xx", "P99999")
