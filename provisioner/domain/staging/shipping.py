"""Where an order goes and how it went: Japanese postal addresses and carriers' tracking numbers.

Addresses follow the Japanese postal format: postal code ``NNN-NNNN`` (seven digits; the hyphen
is added when missing), one of the 47 prefectures by its full name, city (市区町村), the lines
after it, the recipient's name and a phone number (10 or 11 digits starting with 0, hyphens
allowed).

Tracking numbers, as far as each carrier's format is known (docs/architecture.md, "Orders"):

- Yamato Transport: 12 digits, the last being the first eleven modulo 7 (the "7DR" check
  digit printed on its waybills; described by third parties, not in a document of Yamato's).
- Sagawa Express: 12 digits. Its check digit is not checked: no source for its rule was found.
- Japan Post: domestic numbers are 11 or 12 digits (no check digit checked), international
  items 13 characters in the UPU S10 form ``AA123456785JP`` whose ninth digit is the S10
  check digit (weights 8 6 4 2 3 5 9 7, modulo 11), which is checked.
- Other carriers: 6 to 30 letters, digits and hyphens; nothing more is known.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from provisioner.domain.errors import Invalid

PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県",
    "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県",
    "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府",
    "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県", "沖縄県",
)  # fmt: skip
ADDRESS_COLUMNS = ("postal_code", "prefecture", "city", "address_lines", "recipient", "phone")
_POSTAL = re.compile(r"(\d{3})-?(\d{4})")
_PHONE = re.compile(r"0[0-9-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LENGTHS = {"city": 100, "address_lines": 200, "recipient": 100}


@dataclass(frozen=True)
class Address:
    postal_code: str
    prefecture: str
    city: str
    address_lines: str
    recipient: str
    phone: str


def parse_address(values: dict[str, str]) -> Address:
    """The address in these columns, or Invalid naming the first column that is wrong."""
    postal = _POSTAL.fullmatch(values.get("postal_code", "").strip())
    if postal is None:
        raise Invalid("postal_code must be NNN-NNNN (seven digits)")
    prefecture = values.get("prefecture", "").strip()
    if prefecture not in PREFECTURES:
        raise Invalid(f"prefecture {prefecture[:20]!r} is not one of the 47 (e.g. 東京都, 大阪府)")
    texts = {}
    for name, limit in _LENGTHS.items():
        text = values.get(name, "").strip()
        if not text or len(text) > limit or _CONTROL.search(text):
            raise Invalid(f"{name} must be 1 to {limit} characters")
        texts[name] = text
    phone = values.get("phone", "").strip()
    digits = phone.replace("-", "")
    if not _PHONE.fullmatch(phone) or len(digits) not in (10, 11) or "--" in phone:
        raise Invalid("phone must be 10 or 11 digits starting with 0 (hyphens allowed)")
    return Address(f"{postal[1]}-{postal[2]}", prefecture, phone=phone, **texts)


class Carrier(enum.StrEnum):
    YAMATO = "yamato"
    SAGAWA = "sagawa"
    JAPAN_POST = "japanpost"
    OTHER = "other"


_S10 = re.compile(r"[A-Z]{2}(\d{8})(\d)[A-Z]{2}")
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
_OTHER = re.compile(r"[A-Za-z0-9-]{6,30}")


def check_tracking(carrier: str, number: str) -> str:
    """The tracking number as stored (spaces and hyphens dropped for the known carriers)."""
    try:
        known = Carrier(carrier)
    except ValueError as exc:
        choices = ", ".join(c.value for c in Carrier)
        raise Invalid(f"carrier must be one of {choices}") from exc
    if known is Carrier.OTHER:
        if not _OTHER.fullmatch(number.strip()):
            raise Invalid("a tracking number is 6 to 30 letters, digits or hyphens")
        return number.strip()
    compact = re.sub(r"[\s-]", "", number).upper()
    if known is Carrier.YAMATO:
        if not re.fullmatch(r"\d{12}", compact):
            raise Invalid("a Yamato tracking number is 12 digits")
        if int(compact[:11]) % 7 != int(compact[11]):
            raise Invalid("that Yamato tracking number's check digit is wrong (mistyped?)")
    elif known is Carrier.SAGAWA:
        if not re.fullmatch(r"\d{12}", compact):
            raise Invalid("a Sagawa tracking number is 12 digits")
    elif not re.fullmatch(r"\d{11,12}", compact):
        s10 = _S10.fullmatch(compact)
        if s10 is None:
            raise Invalid("a Japan Post tracking number is 11 or 12 digits, or AA123456789JP")
        if _s10_check(s10[1]) != int(s10[2]):
            raise Invalid("that Japan Post tracking number's check digit is wrong (mistyped?)")
    return compact


def _s10_check(serial: str) -> int:
    """UPU S10: 11 minus the weighted sum modulo 11; 10 becomes 0 and 11 becomes 5."""
    check = 11 - sum(int(d) * w for d, w in zip(serial, _S10_WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(check, check)
