"""Every parameter a Panasonic file of ours may carry: its name, index range, value rule and source.

Why a catalogue: the Standard Format has no schema the phone reports back; a name the phone does
not know is ignored without a word, so a misspelt or invented name (the ``HTTP_AUTH_ID`` of
earlier versions) fails only in the field. :func:`check` refuses, at render time and in the
tests, any name not listed here, any line index beyond the model's lines and any value outside
its rule. ``docs/vendors.md`` §2.3 lists the same table for people.

Each entry names its source (tags in :data:`SOURCES`) and how sure it is:

* ``guide``: a Panasonic administrator guide page states the name (and the range, where given),
  for these models or for a sibling of the same generation (KX-HDV100, KX-UTG200/300,
  KX-TGP500: the source tag names which);
* ``sample``: Panasonic's own sample files (as shipped by FusionPBX) or two independent
  provisioning systems use the name for these families; the range is the format's limit or
  the one the note gives;
* ``inferred``: our reading, listed in ``docs/vendors.md`` §6.

The parameter-reference chapters of the KX-HDV/KX-TGP600/KX-UT guides were not found online
(only their format and provisioning chapters), so most ranges are the format's own limits or
inferred; each note says which.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from provisioner.vendors.base import ModelInfo, RenderError
from provisioner.vendors.facts import FIRMWARE_VERSION_PATTERN

FAMILIES = frozenset({"kx-hdv", "kx-tgp600", "kx-ut"})
MAX_VALUE_BYTES = 500  # the format's limit (§2.1)

SOURCES: Mapping[str, str] = MappingProxyType(
    {
        "PN-HDV-2.4": "Panasonic KX-HDV230 Administrator Guide, §2.4 Configuration File "
        "Specifications (mirror: manualarchiveguide.com/manuals/"
        "Panasonic-KX-HDV230-Administrator-s-Manual-5434704?page=51)",
        "PN-HDV100-2.1": "Panasonic KX-HDV100 Administrator Guide, §2.1 Pre-provisioning, URL "
        "formats, 'Case 3: Protocol, user name, password, server name and file name' "
        "(mirror: manual.onestart.ai/manuals/Panasonic-KX-HDV100-Administrator-s-Manual-5434699"
        "?page=40)",
        "PN-TGP500-1.1.6": "Panasonic KX-TGP500/550 Administrator Guide, §1.1.6 Provisioning, "
        "download timing; 'a maximum of 28 days (4 weeks)' (mirror: manualsdump.com/en/manuals/"
        "panasonic-kx-tgp500/220363/23)",
        "PN-TGP500-3.5.2": "Panasonic KX-TGP500 Administrator Guide, §3.5.2 Administrator "
        "Password: 6-16 characters, ADMIN_PASS (mirror: manualowl.com/m/Panasonic/KX-TGP500B04/"
        "Manual/257757?page=76)",
        "PN-UTG-2.4.5": "Panasonic KX-UTG200/300 Administrator Guide, §2.4.5 Timing of "
        "Configuration File Downloads (mirror: manualshive.com/en/manual/panasonic/kx-utg200/"
        "268466?page=54)",
        "PN-SAMPLE-UT670": "Panasonic's Standard Format sample for KX-UT670, as shipped by "
        "FusionPBX: resources/templates/provision/panasonic/ut670/{$mac}.cfg",
        "PN-SAMPLE-UT136": "Panasonic's XML sample for KX-UT136 (4 lines), as shipped by "
        "FusionPBX: resources/templates/provision/panasonic/ut136/{$mac}.xml",
        "WZ-UT113": "wazo-provd plugin wazo_panasonic/common: templates/common/KX-UT113.tpl and "
        "the pre-provisioning KX-UT113.cfg (FIRM_* names)",
        "JP-PHP": 'a Japanese PBX web-UI generator\'s Panasonic master file (TIME_ZONE="540", '
        'DST_ENABLE="N"); docs/vendors.md §0 [JP-PHP]',
        "JP-PHP-HDV": "the same generator's KX-HDV230/330/430 key page: FLEX_BUTTON_FACILITY_ACT, "
        "_ARG, FLEX_BUTTON_QUICK_DIAL, FLEX_BUTTON_LABEL 1-24 with X_PANASONIC_IPTEL_LINE, _BLF, "
        "_ONETOUCH; DSS_BUTTON_* 1-40 for one KX-HDV20 (docs/vendors.md §0 [JP-PHP])",
        "PN-SAMPLE-UT133": "Panasonic's XML sample for KX-UT133, as shipped by FusionPBX: "
        "resources/templates/provision/panasonic/ut133/{$mac}.xml (the FLEX_BUTTON_* names)",
        "PN-XMLAPP-5.2.8": "Panasonic SIP Phone TGP600, HDV100/130/230/330/430 XML Application "
        "Developer's Guide (rev. 2.50/2.52), §4.3.2 network phonebook and §5.2.8 PhoneBook "
        "(mirror: manualshive.com/en/manual/panasonic/tgp600/268486?page=48)",
        "PN-SAMPLE-UTG": "Panasonic's XML samples for KX-UTG200B/KX-UTG300B, as shipped by "
        "FusionPBX: resources/templates/provision/panasonic/utg200b/{$mac}.xml (XMLAPP_ENABLE, "
        "XMLAPP_USERID, XMLAPP_USERPASS in <XmlApp>)",
        "JP-MILLICALL": "mizphses/millicall (a Japanese PBX), src/millicall/provisioning/"
        "templates.py: XMLAPP_LDAP_URL as the KX-HDV remote phonebook URL",
    }
)


@dataclass(frozen=True)
class Rule:
    """What a value may be: a full-match pattern, or an integer range, or free text."""

    pattern: str | None = None
    low: int | None = None
    high: int | None = None
    max_bytes: int = MAX_VALUE_BYTES
    empty: bool = False  # "" is allowed (a cleared line)

    def problem(self, value: str) -> str | None:
        """Why ``value`` breaks the rule, or None."""
        if value == "":
            return None if self.empty else "may not be empty"
        if len(value.encode("utf-8")) > self.max_bytes:
            return f"is longer than {self.max_bytes} bytes"
        if self.low is not None and self.high is not None:
            if not re.fullmatch(r"-?[0-9]{1,10}", value):
                return "is not a whole number"
            if not self.low <= int(value) <= self.high:
                return f"is outside {self.low}..{self.high}"
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return f"does not match {self.pattern}"
        return None


def _int(low: int, high: int) -> Rule:
    return Rule(low=low, high=high)


YES_NO = Rule(pattern="[YN]")
HOST = Rule(pattern=r"[A-Za-z0-9.:\[\]-]{1,253}")  # a DNS name or an IPv4/IPv6 address
# scheme://[user:password@]host[:port]/path (PN-HDV100-2.1); only unreserved characters in the
# user part, so nothing needs a percent-decoding the phone may not do.
URL = Rule(pattern=r"(?:https?|ftp|tftp)://(?:[A-Za-z0-9._~-]+:[A-Za-z0-9._~-]+@)?[^\s\"@]+")
SIP_USER = Rule(pattern=r"[A-Za-z0-9._~+*#-]{1,128}", empty=True)
SIP_SECRET = Rule(pattern=r"[!-~]{1,128}", empty=True)  # printable ASCII, no space


@dataclass(frozen=True)
class Parameter:
    """One name (``per_line``: ``NAME_1`` ... ``NAME_<lines>``) and what it may hold."""

    name: str
    per_line: bool
    rule: Rule
    source: tuple[str, ...]
    sureness: str  # guide | sample | inferred
    note: str
    families: frozenset[str] = FAMILIES
    keys: int = 0  # a key parameter: NAME1 ... NAME<keys> (no underscore before the number)


def _p(
    name: str, rule: Rule, source: str, sureness: str, note: str, *, per_line: bool = False
) -> Parameter:
    return Parameter(name, per_line, rule, tuple(source.split()), sureness, note)


_LINE_SAMPLES = "PN-SAMPLE-UT670 PN-SAMPLE-UT136"  # both samples carry every per-line name


def _line(name: str, rule: Rule, note: str) -> Parameter:
    return _p(name, rule, _LINE_SAMPLES, "sample", note, per_line=True)


def _key(name: str, rule: Rule, keys: int, note: str) -> Parameter:
    source = ("JP-PHP-HDV", "PN-SAMPLE-UT133") if name.startswith("FLEX") else ("JP-PHP-HDV",)
    return Parameter(name, False, rule, source, "sample", note, frozenset({"kx-hdv"}), keys)


FLEX_KEYS, DSS_KEYS = 24, 40
_FACILITY = Rule(pattern="X_PANASONIC_IPTEL_(?:LINE|BLF|ONETOUCH)", empty=True)
_ARGUMENT = Rule(pattern=r"[0-9A-Za-z*#+._-]{1,32}", empty=True)
_DIAL = Rule(pattern=r"[0-9*#+]{1,32}", empty=True)
_LABEL = Rule(max_bytes=48, empty=True)  # length inferred: the generator's field is 8 wide

HOST_OR_EMPTY = Rule(pattern=HOST.pattern, empty=True)
PORT = _int(1, 65535)

PARAMETERS: Mapping[str, Parameter] = MappingProxyType(
    {
        p.name: p
        for p in (
            _p(
                "ADMIN_ID",
                Rule(pattern=r"[!-~]{1,16}"),
                "PN-SAMPLE-UT670",
                "sample",
                "web login id; length inferred from ADMIN_PASS's",
            ),
            _p(
                "ADMIN_PASS",
                Rule(pattern=r"[!-~]{6,16}"),
                "PN-SAMPLE-UT670 PN-TGP500-3.5.2",
                "guide",
                "6-16 ASCII characters, no space (stated for KX-TGP500)",
            ),
            _p("NTP_ADDR", HOST, "PN-SAMPLE-UT670 JP-PHP", "sample", "host name or address"),
            _p(
                "TIME_ZONE",
                _int(-720, 780),
                "JP-PHP",
                "sample",
                "UTC offset in minutes (Japan 540); range inferred (UTC-12 to UTC+13)",
            ),
            _p("DST_ENABLE", YES_NO, "JP-PHP", "sample", "Y/N"),
            _p("PROVISION_ENABLE", YES_NO, "PN-SAMPLE-UT670", "sample", "Y/N"),
            _p(
                "CFG_STANDARD_FILE_PATH",
                URL,
                "PN-SAMPLE-UT670 PN-HDV100-2.1",
                "guide",
                "the device's own file; user:password@ in the URL is how the guides give "
                "provisioning credentials",
            ),
            _p("CFG_CYCLIC", YES_NO, "PN-SAMPLE-UT670 PN-TGP500-1.1.6", "guide", "Y/N"),
            _p(
                "CFG_CYCLIC_INTVL",
                _int(1, 40320),
                "PN-TGP500-1.1.6 PN-UTG-2.4.5",
                "guide",
                "minutes; at most 28 days (stated for KX-TGP500)",
            ),
            _p(
                "CFG_RTRY_INTVL",
                _int(1, 1440),
                "PN-SAMPLE-UT670",
                "sample",
                "minutes (sample: 30); upper bound inferred",
            ),
            _p(
                "CFG_RESYNC_TIME",
                Rule(pattern=r"(?:[01][0-9]|2[0-3]):[0-5][0-9]", empty=True),
                "PN-UTG-2.4.5 PN-TGP500-1.1.6",
                "guide",
                "daily HH:MM; overrides the interval",
            ),
            _p(
                "CFG_RESYNC_FROM_SIP",
                Rule(pattern=r"[A-Za-z0-9._-]{1,64}", empty=True),
                "PN-UTG-2.4.5 PN-TGP500-1.1.6 PN-SAMPLE-UT670",
                "guide",
                "NOTIFY Event value ('check-sync'); length inferred",
            ),
            _p("FIRM_UPGRADE_ENABLE", YES_NO, "PN-SAMPLE-UT670 WZ-UT113", "sample", "Y/N"),
            _p("FIRM_UPGRADE_AUTO", YES_NO, "WZ-UT113", "sample", "Y/N"),
            _p(
                "FIRM_VERSION",
                Rule(pattern=FIRMWARE_VERSION_PATTERN),
                "PN-SAMPLE-UT670 WZ-UT113",
                "sample",
                "e.g. 01.133",
            ),
            _p("FIRM_FILE_PATH", URL, "PN-SAMPLE-UT670 WZ-UT113", "sample", "firmware URL"),
            _line(
                "PHONE_NUMBER",
                SIP_USER,
                "we write the SIP user name; character set and length inferred",
            ),
            _line(
                "DISPLAY_NAME",
                Rule(empty=True),
                "free UTF-8 text (Japanese allowed) up to the format's 500 bytes",
            ),
            _line("SIP_AUTHID", SIP_USER, "character set and length inferred"),
            _line("SIP_PASS", SIP_SECRET, "printable ASCII; length inferred"),
            _line("SIP_RGSTR_ADDR", HOST_OR_EMPTY, "host name or address"),
            _line("SIP_RGSTR_PORT", PORT, "UDP/TCP port"),
            _line("SIP_PRXY_ADDR", HOST_OR_EMPTY, "host name or address"),
            _line("SIP_PRXY_PORT", PORT, "UDP/TCP port"),
            _line(
                "REG_EXPIRE_TIME", _int(1, 4294967295), "seconds (samples: 3600); bounds inferred"
            ),
            _line(
                "SIP_SRC_PORT", PORT, "the line's local port (UT136 sample: 5060, 5070, 5080, 5090)"
            ),
            _line("SIP_2NDRGSTR_ADDR", HOST_OR_EMPTY, "failover registrar; empty: none"),
            _line("SIP_2NDRGSTR_PORT", PORT, "UDP/TCP port (samples: 5060)"),
            _line("SIP_2NDPROXY_ADDR", HOST_OR_EMPTY, "failover proxy; empty: none"),
            _line("SIP_2NDPROXY_PORT", PORT, "UDP/TCP port (samples: 5060)"),
            _line("SIP_DNSSRV_ENA", YES_NO, "Y/N: resolve the registrar by DNS SRV"),
            _line(
                "SIP_UDP_SRV_PREFIX",
                Rule(pattern=r"_sip\._udp\."),
                "SRV prefix (samples: '_sip._udp.'; the UT136 one has a stray trailing space)",
            ),
            _line("CW_ENABLE", YES_NO, "Y/N: call waiting on this line (samples: Y)"),
            _line("SIP_ADD_RPORT", YES_NO, "Y/N: rport (RFC 3581) in Via (samples: N)"),
            _line(
                "PORT_PUNCH_INTVL",
                _int(0, 3600),
                "seconds between NAT keep-alive packets, 0 off (samples: 0); upper bound inferred",
            ),
            Parameter(
                "XMLAPP_ENABLE",
                False,
                YES_NO,
                ("PN-SAMPLE-UTG", "PN-XMLAPP-5.2.8"),
                "inferred",
                "Y/N: the XML application, which the network phonebook belongs to (sample: N); "
                "the guide says a change reboots the phone. Named in the KX-UTG samples; for "
                "these families inferred",
                frozenset({"kx-hdv", "kx-tgp600"}),
            ),
            Parameter(
                "XMLAPP_LDAP_URL",
                False,
                URL,
                ("JP-MILLICALL", "PN-XMLAPP-5.2.8"),
                "inferred",
                "where the network phonebook is searched; the guide's parameter page was not "
                "found, the name is one generator's (docs/vendors.md §6)",
                frozenset({"kx-hdv", "kx-tgp600"}),
            ),
            *(
                _key(f"{bank}_BUTTON_{part}", rule, keys, note)
                for bank, keys in (("FLEX", FLEX_KEYS), ("DSS", DSS_KEYS))
                for part, rule, note in (
                    ("FACILITY_ACT", _FACILITY, "what the key does"),
                    ("FACILITY_ARG", _ARGUMENT, "line number (LINE) or watched extension (BLF)"),
                    ("QUICK_DIAL", _DIAL, "what a ONETOUCH key dials"),
                    ("LABEL", _LABEL, "the key's label"),
                )
            ),
        )
    }
)

_INDEXED = re.compile(r"(?P<base>[A-Z0-9_]+?)_(?P<index>[1-9][0-9]?)")
_KEYED = re.compile(r"(?P<base>[A-Z_]+?)(?P<index>[1-9][0-9]?)")


def lookup(name: str, model: ModelInfo) -> Parameter:
    """The catalogue entry for ``name`` on ``model``; RenderError for an unknown name or a line
    index beyond the model's lines."""
    entry = PARAMETERS.get(name)
    if entry is not None and not entry.per_line:
        return _for_family(entry, model)
    keyed = _KEYED.fullmatch(name)
    if keyed is not None and (entry := PARAMETERS.get(keyed["base"])) and entry.keys:
        if int(keyed["index"]) > entry.keys:
            raise RenderError(f"{name}: there are {entry.keys} such keys")
        return _for_family(entry, model)
    found = _INDEXED.fullmatch(name)
    if found is not None and (entry := PARAMETERS.get(found["base"])) and entry.per_line:
        index = int(found["index"])
        if index > model.lines:
            raise RenderError(
                f"{name}: {model.model} has {model.lines} lines; line {index} does not exist"
            )
        return _for_family(entry, model)
    raise RenderError(f"{name}: not a documented Panasonic parameter (catalogue.py)")


def _for_family(entry: Parameter, model: ModelInfo) -> Parameter:
    if model.family not in entry.families:
        raise RenderError(f"{entry.name}: not documented for the {model.family} family")
    return entry


def check(pairs: Iterable[tuple[str, str]], model: ModelInfo) -> None:
    """Refuse a file whose names or values the catalogue does not allow for ``model``."""
    for name, value in pairs:
        problem = lookup(name, model).rule.problem(value)
        if problem is not None:
            # the value itself stays out of the message: it may be a password
            raise RenderError(f"{name}: the value {problem}")
