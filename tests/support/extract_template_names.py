"""Rebuild ``provisioner/vendors/grandstream/template_names/*.txt`` from Grandstream's templates.

The lists are the parameter names (P-values, or v2 aliases) that Grandstream's own config
templates carry for each family, as FusionPBX ships them (docs/vendors.md §0, [FP]). One
command, from a clone of ``fusionpbx/fusionpbx``:

    .venv/bin/python -m tests.support.extract_template_names /path/to/fusionpbx

Names written in a template loop keep an index placeholder: ``{n}`` for the account,
``{i}`` for a key. The GXP16xx template computes its key P-values in Smarty; those are expanded
here from the formulas and comments of that template (``_GXP16XX_KEYS``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "provisioner/vendors/grandstream/template_names"
BASE = "resources/templates/provision/grandstream"
# family -> (template directory, firmware the template names) ...
SOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    "gxp16xx": (("gxp16xx", "GXP16xx 1.0.4.33"),),
    "gxp21xx": (("gxp2170", "GXP21xx 1.0.11.79"),),
    "grp26xx": (("grp2614", "GRP261x 1.0.9.103"),),
    "ht80x": (("ht802", "HT80x 1.0.10.6"),),
    "ht81x": (("ht814", "HT81x 1.0.63.3"), ("ht818", "HT818 1.0.10.6")),
}
_P = re.compile(r"<(P[0-9]+)\s*/?>")
_ITEM = re.compile(r'<item name="([^"]+)"')
_PLACEHOLDERS = (("{$row.line_number}", "{n}"), ("{$row.device_key_id}", "{i}"))


def _gxp16xx_keys() -> list[str]:
    """Line keys 1-3 (start 1363: mode +0, account +1, description +102, value +103, two
    P-values per key) and MPK 1-7 (mode 323+k-1; account, description, value from 301 in
    threes); MPK 8 is written out in the template (P353-P356)."""
    names = []
    for k in range(3):
        base = 1363 + 2 * k
        names += [f"P{base}", f"P{base + 1}", f"P{base + 102}", f"P{base + 103}"]
    for k in range(7):
        names += [f"P{323 + k}", f"P{301 + 3 * k}", f"P{302 + 3 * k}", f"P{303 + 3 * k}"]
    return names


def _names(text: str) -> list[str]:
    names = _P.findall(text) + _ITEM.findall(text)
    for placeholder, short in _PLACEHOLDERS:
        names = [name.replace(placeholder, short) for name in names]
    return [name for name in names if "{$" not in name]


def main(clone: str) -> None:
    commit = subprocess.run(
        ["git", "-C", clone, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    OUT.mkdir(exist_ok=True)
    for family, templates in SOURCES.items():
        header, names = [], set()
        for directory, firmware in templates:
            path = f"{BASE}/{directory}/{{$mac}}.xml"
            text = subprocess.run(
                ["git", "-C", clone, "show", f"HEAD:{path}"],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            header.append(f"# {firmware}: fusionpbx/fusionpbx@{commit} {path}")
            names.update(_names(text))
        if family == "gxp16xx":
            header.append("# + key P-values computed in that template (extract_template_names)")
            names.update(_gxp16xx_keys())
        body = "\n".join([*header, *sorted(names)]) + "\n"
        (OUT / f"{family}.txt").write_text(body, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
