"""snmpsim variation module ``poesim``: a PoE port that really loses and regains power.

snmpsim runs this file with ``agentContext`` (per simulated agent, i.e. per data file) and
``recordContext`` (per OID) in its globals. Records carry the port's initial state::

    <oid>|2:poesim|col=admin,port=5,admin=1,det=3,cls=3,mw=4350   (also det, cls, mw, oper)
    <oid>|66:poesim|col=total,base=91                            pethMainPseConsumptionPower

Only ``col=admin`` (pethPsePortAdminEnable) is writable, with true(1) or false(2). false cuts
power: detection disabled(1), class0, 0 mW, link down. true: searching(2) for ``det_delay``
seconds, then deliveringPower(3) with the port's class and power; the link is up after
``link_delay``. Adapted from the PoE trial's variation module (docs/poe.md, 'Test agents').
"""

import time

from pysnmp.smi import error
from snmpsim.grammar.snmprec import SnmprecGrammar
from snmpsim.utils import split

SETTINGS = {"det_delay": 1.0, "link_delay": 2.0}


def init(**context):
    if context.get("options"):
        for key, value in [split(x, ":") for x in split(context["options"], ",")]:
            SETTINGS[key] = float(value)


def _settings(value):
    if "settings" not in recordContext:
        raw = dict(split(x, "=") for x in split(value, ","))
        recordContext["settings"] = {k: (v if k == "col" else int(v)) for k, v in raw.items()}
    return recordContext["settings"]


def _view(s, now):
    """(admin, det, cls, mw, oper) of the port a record describes, as of now."""
    state = agentContext.setdefault("ports", {}).get(s["port"])
    up = 1 if s["det"] == 3 else 2
    if state is None:
        return s.get("admin", 1), s["det"], s["cls"], s["mw"], up
    if state["admin"] == 2:
        return 2, 1, 1, 0, 2
    elapsed = now - state["t"]
    if s["det"] == 3:
        if elapsed < SETTINGS["det_delay"]:
            return 1, 2, 1, 0, 2
        return 1, 3, s["cls"], s["mw"], (1 if elapsed >= SETTINGS["link_delay"] else 2)
    return 1, 2 if s["det"] == 1 else s["det"], s["cls"], 0, up


def variate(oid, tag, value, **context):
    if not context["nextFlag"] and not context["exactMatch"]:
        return context["origOid"], tag, context["errorStatus"]
    s = _settings(value)
    now = time.time()
    kind = SnmprecGrammar.TAG_MAP[tag]
    idx = max(0, context["varsTotal"] - context["varsRemaining"] - 1)
    if context["setFlag"]:
        if s["col"] != "admin":
            raise error.NotWritableError(name=oid, idx=idx)
        new = context["origValue"]
        if not kind().isSameTypeWith(new):
            raise error.WrongTypeError(name=oid, idx=idx)
        if int(new) not in (1, 2):
            raise error.WrongValueError(name=oid, idx=idx)
        ports = agentContext.setdefault("ports", {})
        ports[s["port"]] = {"admin": int(new), "t": now, "mw0": s["mw"]}
        return oid, tag, kind(int(new))
    if s["col"] == "total":
        drop = 0
        for state in agentContext.get("ports", {}).values():
            on = state["admin"] == 1 and now - state["t"] >= SETTINGS["det_delay"]
            drop += 0 if on else state["mw0"]
        return oid, tag, kind(max(0, round((s["base"] * 1000 - drop) / 1000)))
    admin, det, cls, mw, oper = _view(s, now)
    now_value = {"admin": admin, "det": det, "cls": cls, "mw": mw, "oper": oper}[s["col"]]
    return oid, tag, kind(now_value)


def shutdown(**context):
    pass
