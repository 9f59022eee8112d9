"""What a Panasonic "Standard Format" file can hold: parameter names and values.

The format has no escaping: a value sits between double quotes on one CR LF line
(``NAME="value"``, name <= 32 characters, value <= 500, line <= 537 bytes), so a value that
could break its line is refused (:func:`check_text_value`) and the template writes values as
they are.
"""

from __future__ import annotations

import re

from provisioner.vendors.base import RenderError, unique_params
from provisioner.vendors.common import Params, refuse_unwritable_characters

MAX_NAME_CHARS = 32
MAX_VALUE_BYTES = 500  # with a 32-character name: 32 + 2 + 500 + 1 + CR LF = 537 bytes
# Beyond control characters: the double quote that would end a value early.
UNWRITABLE_CHARACTERS = '"'

_PARAM_NAME = re.compile(rf"[A-Z0-9_]{{1,{MAX_NAME_CHARS}}}")


def check_text_value(name: str, value: str) -> None:
    """Refuse a value that cannot sit inside ``NAME="value"`` on one line.

    ``name`` only labels the message (the import sheet passes ``display_name``).
    """
    if '"' in value:
        raise RenderError(
            f'{name}: a double quote (") cannot be written in a Panasonic setting; remove it'
        )
    refuse_unwritable_characters(name, value)
    size = len(value.encode("utf-8"))
    if size > MAX_VALUE_BYTES:
        raise RenderError(
            f"{name}: {size} bytes is longer than the {MAX_VALUE_BYTES} bytes a Panasonic "
            "setting holds (a Japanese character takes 3); shorten it"
        )


def checked(params: Params) -> tuple[tuple[str, str], ...]:
    """Each parameter once, each name well-formed, each value safe on its line."""
    frozen = unique_params(params)
    for name, value in frozen:
        if not _PARAM_NAME.fullmatch(name):
            raise RenderError(f"parameter name {name!r} is not 1-32 of A-Z, 0-9 and _")
        check_text_value(name, value)
    return frozen
