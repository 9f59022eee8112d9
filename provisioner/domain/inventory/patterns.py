"""Names and telephone numbers as people type them, and the patterns they must match.

The same patterns are published in the API document, so a client can check a value before
sending it; the domain checks with ``re.fullmatch`` either way.
"""

from __future__ import annotations

import re

from provisioner.domain.errors import Invalid

# What no device setting can hold (as vendors.common refuses): control characters, U+FFFE and
# U+FFFF, as regex escapes valid in Python and ECMAScript. Lone surrogates are refused apart:
# ECMAScript engines take no surrogate range in a pattern.
UNWRITABLE = r"\u0000-\u001f\u007f-\u009f\ufffe\uffff"

# A name: writable characters, no space at either end (sheet cells are trimmed the same way).
NAME_PATTERN = rf"[^\s{UNWRITABLE}](?:[^{UNWRITABLE}]*[^\s{UNWRITABLE}])?"

# A Japanese number (0 and 9-10 more digits); people write hyphens and spaces in it.
PHONE_NUMBER_PATTERN = r"[ -]*0(?:[ -]*[0-9]){9,10}[ -]*"
_DIGITS = re.compile(r"0[0-9]{9,10}")


def anchored(pattern: str) -> str:
    """The pattern as a whole-string match, for a JSON schema's ``pattern``."""
    return f"^(?:{pattern})$"


def is_name(text: str, max_length: int = 100) -> bool:
    return (
        len(text) <= max_length
        and _encodable(text)
        and re.fullmatch(NAME_PATTERN, text) is not None
    )


def _encodable(text: str) -> bool:
    """False for a lone surrogate (JSON can carry one), which no database column takes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def phone_number(text: str, label: str) -> str | None:
    """The digits of a number, None for an empty text; ``label`` names it in the message."""
    digits = text.replace("-", "").replace(" ", "")
    if not digits:
        return None
    if not _DIGITS.fullmatch(digits):
        raise Invalid(f"{label} {text!r} is not a Japanese number (0 and 9-10 more digits)")
    return digits
