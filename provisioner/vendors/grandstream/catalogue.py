"""The parameter names Grandstream's own config template has for each family.

Why: a Grandstream device ignores a name it does not know without a word, so a wrong P-value
(the ``P1409`` written to GXP16xx, whose template has no TR-069 switch) fails only in the
field. The lists in ``template_names/<family>.txt`` are the names of the vendor's template for
that family and firmware (their first lines name the template and commit; rebuilt by
``python -m tests.support.extract_template_names``). They are checked by the tests against
every key and setting parameter we write, and decide which raw overrides an expert may set.

A name written inside a template loop keeps its index as ``{n}`` (account) or ``{i}`` (key);
:func:`knows` matches any number there.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

FAMILIES = ("gxp16xx", "gxp21xx", "grp26xx", "ht80x", "ht81x")
_INDEX = re.compile(r"\.([0-9]+)(?=\.|$)")


@cache
def template_names(family: str) -> frozenset[str]:
    """The names of ``family``'s template, index placeholders kept."""
    text = resources.files(__package__).joinpath(f"template_names/{family}.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


@cache
def sources(family: str) -> tuple[str, ...]:
    """Which vendor template (firmware, repository, commit, path) the list was taken from."""
    text = resources.files(__package__).joinpath(f"template_names/{family}.txt").read_text("utf-8")
    return tuple(line[2:] for line in text.splitlines() if line.startswith("# "))


def knows(family: str, name: str) -> bool:
    """Whether ``family``'s template has ``name``; ``account.3.x`` matches ``account.{n}.x``
    and ``pks.vpk.12.x`` matches ``pks.vpk.{i}.x``."""
    names = template_names(family)
    if name in names:
        return True
    return any(
        _INDEX.sub(f".{placeholder}", name, count=1) in names for placeholder in ("{n}", "{i}")
    )
