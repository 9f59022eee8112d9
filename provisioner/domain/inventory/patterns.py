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

# What makes a name read other than it is stored (a tenant name shown reversed, two names that
# look alike): bidi marks, embeddings, overrides and isolates, and zero-width characters.
INVISIBLE = r"\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_NOT_IN_NAMES = UNWRITABLE + INVISIBLE

# A name: writable, visible characters, no space at either end (sheet cells are trimmed alike).
NAME_PATTERN = rf"[^\s{_NOT_IN_NAMES}](?:[^{_NOT_IN_NAMES}]*[^\s{_NOT_IN_NAMES}])?"

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


def storable(text: str) -> bool:
    """Whether every database takes the text: PostgreSQL refuses NUL, and none takes a lone
    surrogate."""
    return "\x00" not in text and _encodable(text)


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
