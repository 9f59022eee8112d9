"""Fixed sample devices for the vendor golden-file and parse-back tests.

Everything is fixed (MACs, usernames, passwords) so the rendered files are byte-stable. The
Grandstream samples carry a password with every XML-special character; the display names
are Japanese (UTF-8).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from provisioner.vendors import vendor
from provisioner.vendors.base import (
    DeviceView,
    FaxMode,
    FileRequest,
    FirmwareOffer,
    KeyType,
    KeyView,
    LineView,
    ProvisioningContext,
    ProvisioningCredentials,
    VendorModule,
)

CONTEXT = ProvisioningContext(
    pbx_host="pbx.example.jp",
    pbx_port=5060,
    pbx_backup=("pbx2.example.jp", 5080),
    http_base="https://prov.example.jp/zt",
    ntp_server="ntp.nict.jp",
    registration_expiry=600,
    nat_keepalive=15,
    resync_window=(1, 5),
)
XML_HOSTILE_PASSWORD = "a&b<c>d\"e'f"  # every character XML must escape
XML_HOSTILE_ADMIN = "adm&<>\"'in"
NAMES = (
    "山田 太郎",
    "佐藤 花子",
    "鈴木 一郎",
    "高橋 次郎",
    "田中 三郎",
    "伊藤 四郎",
    "渡辺 五郎",
    "FAX",
)


def line(
    port: int,
    *,
    direct: str | None = None,
    fax: FaxMode | None = None,
    password: str | None = None,
    extension: str | None = None,
) -> LineView:
    """Line ``port`` with a predictable account: extension 10nn, username u10nnxk7."""
    ext = extension or f"{1000 + port}"
    return LineView(
        port=port,
        extension=ext,
        direct_number=direct,
        display_name=NAMES[(port - 1) % len(NAMES)],
        sip_username=f"u{ext}xk7",
        sip_password=password or f"Pw{ext}qRt5ZmN8",
        fax_mode=fax,
    )


ADMIN_PASSWORD = "Adm1nPassw0rdX"


# What a bench (staging) delivery adds; the other samples are field deliveries without it.
BENCH_CREDENTIALS = ProvisioningCredentials("dc074ad217001", "HttpPw7kQ2mZ9xR4", "CfgKey3pL8vN6tW2")


def device(
    model: str, mac: str, lines: tuple[LineView, ...], *, caller_id: str | None = None,
    admin_password: str = ADMIN_PASSWORD, credentials: ProvisioningCredentials | None = None,
) -> DeviceView:  # fmt: skip
    vendor_name = "grandstream" if not model.startswith("KX-") else "panasonic"
    return DeviceView(
        mac=mac,
        model=vendor(vendor_name).models[model],
        admin_password=admin_password,
        lines=lines,
        caller_id=caller_id,
        tenant="acme",
        credentials=credentials,
    )


def keys(*spec: tuple[int, KeyType, str, str]) -> tuple[KeyView, ...]:
    return tuple(KeyView(position, kind, value, label) for position, kind, value, label in spec)


L, B, S, P, U, D = (KeyType.LINE, KeyType.BLF, KeyType.SPEED_DIAL, KeyType.PARK, KeyType.PICKUP,
                    KeyType.DTMF)  # fmt: skip
HOSTILE_LABEL = "受付 <&\"'>"  # Japanese and every XML-special character

GXP1628 = replace(
    device(
        "GXP1628",
        "000b82162801",
        (line(1, direct="0312345601", password=XML_HOSTILE_PASSWORD), line(2)),
        caller_id="0312345601",
        admin_password=XML_HOSTILE_ADMIN,
    ),
    # two line keys, then the eight MPKs (BLF, park, pickup, speed dial, DTMF)
    keys=keys((1, L, "1", "1001"), (2, L, "2", "1002"), (3, B, "2001", HOSTILE_LABEL),
              (4, P, "*70", "パーク"), (5, U, "**2001", "代理"), (6, S, "0312345678", "本社"),
              (7, D, "1234#", "DTMF"), (10, B, "2002", "")),
)  # fmt: skip
GXP2170 = replace(
    device(
        "GXP2170",
        "c074ad217001",
        tuple(line(n, direct=f"03123456{n:02d}") for n in range(1, 7)),
        caller_id="0312340000",
        credentials=BENCH_CREDENTIALS,
    ),
    # lines on the first VPKs, then BLF and features; two keys on the GXP2200EXT (49, 50)
    keys=keys(*((n, L, str(n), f"{1000 + n}") for n in range(1, 7)),
              (7, B, "2001", HOSTILE_LABEL), (8, S, "0312345678", "本社"), (9, P, "*70", "パーク"),
              (10, U, "*82001", "代理"), (11, D, "9", "DTMF"),
              (49, B, "2002", "鈴木"), (50, B, "2003", "高橋")),
    expansion_modules=1,
)  # fmt: skip
GRP2614 = replace(
    device(  # account 4 left empty: it must be switched off and cleared
        "GRP2614",
        "c074ad261401",
        (line(1, password=XML_HOSTILE_PASSWORD), line(2), line(3)),
        caller_id="0612345678",
        credentials=BENCH_CREDENTIALS,
    ),
    # VPKs 1-3 lines, 4 BLF; the first physical MPK (position 17) a BLF too
    keys=keys((1, L, "1", "1001"), (2, L, "2", "1002"), (3, L, "3", "1003"),
              (4, B, "2001", HOSTILE_LABEL), (17, B, "2002", "佐藤"), (18, P, "*70", "パーク")),
)  # fmt: skip
HT802 = device(
    "HT802",
    "ec74d7080201",
    (line(1, fax=FaxMode.T38), line(2, fax=FaxMode.PASSTHROUGH)),
)
HT814 = device(
    "HT814",
    "ec74d7081401",
    (
        line(1, fax=FaxMode.T38),
        line(2, fax=FaxMode.PASSTHROUGH),
        line(3),
        line(4, fax=FaxMode.PASSTHROUGH),
    ),
    credentials=BENCH_CREDENTIALS,
)
HT818 = device(
    "HT818",
    "ec74d7081801",
    tuple(line(n, fax=FaxMode.PASSTHROUGH if n % 3 == 0 else FaxMode.T38) for n in range(1, 9)),
)
KX_HDV230 = replace(
    device(
        "KX-HDV230",
        "0080f0023001",
        (line(1, direct="0312345601"), line(2), line(3)),
        caller_id="0312345601",
        credentials=BENCH_CREDENTIALS,
    ),
    # flexible buttons 1-3 lines, then BLF, speed dial, park, pickup; a KX-HDV20 key (25)
    keys=keys((1, L, "1", "1001"), (2, L, "2", "1002"), (3, L, "3", "1003"),
              (4, B, "2001", "受付"), (5, S, "0312345678", "本社"), (6, P, "*70", "パーク"),
              (7, U, "*82001", "代理"), (25, B, "2002", "鈴木")),
    expansion_modules=1,
)  # fmt: skip
KX_HDV430 = replace(
    device("KX-HDV430", "0080f0043001", (line(1), line(2))),
    keys=keys((1, L, "1", "1001"), (2, L, "2", "1002"), (3, B, "2001", "受付"),
              (24, S, "0312345678", "本社")),
)  # fmt: skip
KX_TGP600 = device("KX-TGP600", "0080f0060001", (line(1), line(2)))
KX_UT133 = replace(
    device(  # line 4 left empty: written empty
        "KX-UT133",
        "0080f0013301",
        (line(1, direct="0312345601"), line(2), line(3)),
        caller_id="0312340000",
    ),
    settings={"call_waiting": "off"},  # CW_ENABLE_1..4="N", on every line the model has
)

GRANDSTREAM_DEVICES = (GXP1628, GXP2170, GRP2614, HT802, HT814, HT818)
PANASONIC_DEVICES = (KX_HDV230, KX_HDV430, KX_TGP600, KX_UT133)


def upgrading(sample: DeviceView, mac: str, version: str) -> DeviceView:
    """The sample under another MAC, told by a rollout to install ``version`` next."""
    name = f"{sample.model.vendor}-{version}-0123456789ab.bin"
    return replace(sample, mac=mac, firmware=FirmwareOffer(version, name))


# One per file format and family: the firmware fields of a device's next step.
FIRMWARE_DEVICES = (
    upgrading(GXP1628, "000b82162802", "1.0.7.64"),
    upgrading(GRP2614, "c074ad261402", "1.0.9.103"),
    upgrading(HT802, "ec74d7080202", "1.0.43.11"),
    upgrading(KX_HDV230, "0080f0023002", "01.133"),
)


@dataclass(frozen=True)
class GoldenCase:
    """One golden file: the name a device asks for, and the device behind it (if any)."""

    filename: str
    module: VendorModule
    device: DeviceView | None

    @property
    def request(self) -> FileRequest:
        request = self.module.match_file(self.filename)
        assert request is not None, self.filename
        return request


def golden_cases() -> list[GoldenCase]:
    cases = []
    for sample in GRANDSTREAM_DEVICES + PANASONIC_DEVICES + FIRMWARE_DEVICES:
        module = vendor(sample.model.vendor)
        cases.append(GoldenCase(module.device_filename(sample.mac, sample.model), module, sample))
    cases.append(GoldenCase("KX-HDV230.cfg", vendor("panasonic"), None))
    return cases
