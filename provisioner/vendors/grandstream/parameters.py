"""Where Grandstream keeps each setting: P-values (GXP, HT) and v2 aliases (GRP26xx), and how
each family spells its values.

Sources: FusionPBX's copies of Grandstream's own config templates, wazo-provd (with its known
errors corrected: account 5 is P17xx, not P7xx; P863/P4417 are FXS port 2) and the notes in
``docs/vendors.md``. Which value goes where is decided in :mod:`.plan`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AccountKeys:
    """Where one SIP account's settings live (P-values or aliases)."""

    active: str
    label: str | None  # account name: the line key label (phones only)
    server: str
    proxy: str
    user: str
    auth: str
    password: str
    name: str
    registration: str
    unregister: str
    expiry: str  # minutes


def _p_block(base: int) -> AccountKeys:
    """Accounts 2 and 3 share one layout: active x01, name x17, server x02 ... expiry x12."""
    return AccountKeys(*(f"P{base + offset}" for offset in (1, 17, 2, 3, 4, 5, 6, 7, 10, 11, 12)))


# GXP16xx accounts 1-3 (FusionPBX gxp16xx fw 1.0.4.33). The GXP21xx P-value blocks of accounts
# 4-6 (P6xx, P17xx, P18xx; not wazo's P7xx) are in docs/vendors.md §1.4: GXP21xx now take the
# aliases, so no P-value phone has more than three accounts.
PHONE_ACCOUNTS: tuple[AccountKeys, ...] = (
    AccountKeys("P271", "P270", "P47", "P48", "P35", "P36", "P34", "P3", "P31", "P81", "P32"),
    _p_block(400),
    _p_block(500),
)


def alias_account(n: int) -> AccountKeys:
    """GRP26xx account ``n`` (docs/vendors.md §1.3, alias table, ``{$row.line_number}`` = n)."""
    return AccountKeys(
        *(
            f"account.{n}.{suffix}"
            for suffix in (
                "enable",
                "name",
                "sip.server.1.address",
                "sip.outboundProxy.1.address",
                "sip.userid",
                "sip.subscriber.userid",
                "sip.subscriber.password",
                "sip.subscriber.name",
                "sip.registration",
                "sip.unregisterOnReboot",
                "sip.registerExpiration",
            )
        )
    )


@dataclass(frozen=True)
class ReachKeys:
    """How one account (phones), FXS port (HT80x) or profile (HT81x) reaches the cores and
    stays reachable behind NAT (docs/vendors.md §7)."""

    backup: str  # secondary SIP server (phones) / failover SIP server (HT)
    dns_mode: str  # 0 A record, 1 SRV
    nat: str  # NAT traversal: 2 keep-alive
    local_port: str | None  # local SIP port
    prefer_primary: str | None = None  # HT: back to the primary as soon as it answers
    random_port: str | None = None  # HT: "Use random SIP port" (off: the port stays fixed)
    rport: str | None = None  # "Support Rport (RFC 3581)": an alias of GRP26xx only


def _p_reach(n: int, base: int) -> ReachKeys:
    """Phone accounts 2-6: secondary P2n12 (P2412 ... P2812), DNS mode x08, NAT x14, port x13."""
    return ReachKeys(f"P{2212 + 100 * n}", f"P{base + 8}", f"P{base + 14}", f"P{base + 13}")


# GXP16xx/GXP21xx accounts 1-6 (FusionPBX gxp21xx fw 1.0.5.32; gxp16xx fw 1.0.4.33 for 1-3).
PHONE_REACH: tuple[ReachKeys, ...] = (
    ReachKeys("P2312", "P103", "P52", "P40"),
    *(_p_reach(n, base) for n, base in ((2, 400), (3, 500), (4, 600), (5, 1700), (6, 1800))),
)
# HT80x port 1 and HT81x profile 1; HT80x port 2 (FusionPBX ht802 fw 1.0.10.6) and, by the
# +700 rule of docs/vendors.md §1.6, HT81x profile 2 (inferred: FusionPBX's HT814 template
# sets profile 1 only).
HT_REACH = (
    ReachKeys("P967", "P103", "P52", "P40", "P4567", "P20501"),
    ReachKeys("P987", "P702", "P730", "P740", "P4568", "P20502"),
)


def alias_reach(n: int) -> ReachKeys:
    """GRP26xx account ``n`` (P2312, P103, P52, P40 in the alias table; supportRport has no
    P-value in Grandstream's GRP2614 template, only the alias)."""
    return ReachKeys(
        f"account.{n}.sip.server.2.address",
        f"account.{n}.network.dnsMode",
        f"account.{n}.network.natTraversal",
        f"account.{n}.sip.localPort",
        rport=f"account.{n}.network.supportRport",
    )


# Phones: account n listens on 5060 + 2(n - 1), Grandstream's template defaults (P40 5060,
# P413 5062 ... P1813 5070).
def phone_local_port(n: int) -> str:
    return str(5060 + 2 * (n - 1))


KEEPALIVE_INTERVAL = "P84"  # seconds, 10-160, global (every template: "Keep-alive interval")
ALIAS_KEEPALIVE_INTERVAL = "sip.keepAliveInterval"


@dataclass(frozen=True)
class AnalogKeys:
    """Line-side settings of an FXS port (HT80x) or a SIP profile (HT81x)."""

    fax_mode: str  # 0 = T.38 (auto detect), 1 = pass-through
    reinvite_on_fax: str  # re-INVITE after fax tone detected
    slic: str  # 2 = JAPAN CO
    caller_id_scheme: str  # 10 = NTT Japan


SLIC_JAPAN_CO = "2"
CALLER_ID_NTT_JAPAN = "10"

PORT1_ANALOG = AnalogKeys("P228", "P4416", "P854", "P853")
PORT2_ANALOG = AnalogKeys("P710", "P4417", "P864", "P863")  # wazo emits these as global: wrong

# HT80x FXS ports: one full account each; port 2 is the +700 set.
HT80X_PORTS: tuple[tuple[AccountKeys, AnalogKeys], ...] = (
    (
        AccountKeys("P271", None, "P47", "P48", "P35", "P36", "P34", "P3", "P31", "P81", "P32"),
        PORT1_ANALOG,
    ),
    (
        AccountKeys("P401", None, "P747", "P748", "P735", "P736", "P734", "P703", "P731",
                    "P752", "P732"),
        PORT2_ANALOG,
    ),
)  # fmt: skip
HT_LOCAL_SIP_PORTS = ("5060", "5062")  # P40, P740: the HT802 template's defaults


@dataclass(frozen=True)
class ProfileKeys:
    """An HT81x SIP profile: the server side shared by the ports that use it."""

    active: str
    server: str
    proxy: str
    registration: str
    unregister: str
    expiry: str
    analog: AnalogKeys


# Profile 1 takes the HT80x port-1 numbers, profile 2 the +700 set. Profile 1 is set up for
# T.38, profile 2 for pass-through: on HT81x a port's fax mode is chosen by its profile.
HT81X_PROFILES = (
    ProfileKeys("P271", "P47", "P48", "P31", "P81", "P32", PORT1_ANALOG),
    ProfileKeys("P401", "P747", "P748", "P731", "P752", "P732", PORT2_ANALOG),
)
PROFILE_T38, PROFILE_PASSTHROUGH = "0", "1"


@dataclass(frozen=True)
class PortKeys:
    """An HT81x FXS port: its own credentials and the profile it registers through."""

    user: str
    auth: str
    password: str
    name: str
    profile: str
    enable: str


def ht81x_port(n: int) -> PortKeys:
    """FXS port ``n``: P4060/P4090/P4120/P4180/P4150/P4595 + (n - 1)."""
    return PortKeys(*(f"P{base + n - 1}" for base in (4060, 4090, 4120, 4180, 4150, 4595)))


@dataclass(frozen=True)
class CredentialKeys:
    """Where a staging delivery puts the device's own way back in (see ProvisioningCredentials)."""

    http_user: str
    http_password: str
    config_key: str


P_CREDENTIALS = CredentialKeys("P1360", "P1361", "P1359")
ALIAS_CREDENTIALS = CredentialKeys(
    "provisioning.config.username",
    "provisioning.config.password",
    "provisioning.config.filePassword",
)


# --- values --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spelling:
    """How a family writes yes/no, and the drop-down values of the NAT and DNS settings."""

    yes: str
    no: str
    keep_alive: str  # NAT traversal "keep alive" (HT: "No, but send keep-alive")
    a_record: str  # DNS mode
    srv: str


P_SPELLING = Spelling("1", "0", "2", "0", "1")
ALIAS_SPELLING = Spelling("Yes", "No", "KeepAlive", "ARecord", "SRV")
CHECK_INTERVAL_MINUTES = "1440"
