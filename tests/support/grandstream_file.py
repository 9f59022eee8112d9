"""A Grandstream file read back as the phone reads it, in either of its two forms."""

from __future__ import annotations

import xml.etree.ElementTree as ET


def settings(body: bytes) -> tuple[ET.Element, dict[str, str]]:
    """The root element and {P-value or alias: text}; AssertionError if a name appears twice.

    ``<config version="1">`` holds ``<Pnnn>`` elements, ``version="2"`` holds ``<item name>``
    elements (docs/vendors.md §1.2, §1.3).
    """
    root = ET.fromstring(body)
    config = root.find("config")
    assert config is not None, "no <config> element"
    if config.get("version") == "2":
        pairs = [(item.get("name") or "", item.text or "") for item in config]
    else:
        pairs = [(element.tag, element.text or "") for element in config]
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), "a setting appears twice"
    return root, dict(pairs)


# (user, auth ID, password, server) of P-value accounts 1 and 2 (GXP16xx; HT port 1).
_P_ACCOUNTS = {1: ("P35", "P36", "P34", "P47"), 2: ("P404", "P405", "P406", "P402")}


def account(values: dict[str, str], n: int) -> dict[str, str]:
    """Account ``n`` as user, auth ID, password and server ("" where the file has none)."""
    prefix = f"account.{n}."
    if prefix + "enable" in values:
        names = tuple(prefix + suffix for suffix in ("sip.userid", "sip.subscriber.userid",
                      "sip.subscriber.password", "sip.server.1.address"))  # fmt: skip
    else:
        names = _P_ACCOUNTS[n]
    return dict(
        zip(
            ("user", "auth", "password", "server"),
            (values.get(name, "") for name in names),
            strict=True,
        )
    )
