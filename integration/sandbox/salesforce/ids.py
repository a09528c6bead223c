"""Salesforce-shaped record ids: 15 case-sensitive characters plus the 3-character suffix.

The suffix is Salesforce's own case-safe checksum: for each 5-character chunk of the 15-character
id, a 5-bit number whose bit *i* is set when character *i* is an upper-case letter, mapped onto
``A-Z0-5``. That is what lets clients compare ids case-insensitively, so an emulator that made up
its own suffix would teach client code a habit that fails against a real org.
"""

from __future__ import annotations

import re
import string

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX_CHARS = string.ascii_uppercase + "012345"
# Our "pod" and reserved characters, fixed so every id of the sandbox looks alike.
_POD = "5g0"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")

KEY_PREFIXES = {"Lead": "00Q", "Contact": "003", "Account": "001", "User": "005", "Organization": "00D"}
JOB_PREFIX = "750"
QUERY_LOCATOR_PREFIX = "01g"


def checksum(id15: str) -> str:
    """The 3-character case-safe suffix of a 15-character id."""
    if len(id15) != 15:
        raise ValueError("A Salesforce id to checksum has exactly 15 characters.")
    suffix = ""
    for chunk_start in (0, 5, 10):
        flags = 0
        for position, char in enumerate(id15[chunk_start : chunk_start + 5]):
            if "A" <= char <= "Z":
                flags |= 1 << position
        suffix += _SUFFIX_CHARS[flags]
    return suffix


def to_18(id15: str) -> str:
    return id15 + checksum(id15)


def make_id(prefix: str, number: int) -> str:
    """The 18-character id of the ``number``-th record with key prefix ``prefix``."""
    if number < 0:
        raise ValueError("Record numbers are positive.")
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    body = digits.rjust(9, "0")
    if len(body) > 9:
        raise ValueError("Record number out of range.")
    return to_18(prefix + _POD + body)


def is_well_formed(value: str) -> bool:
    """15 or 18 alphanumerics, and for 18 the suffix matches the first 15."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return False
    return len(value) == 15 or checksum(value[:15]) == value[15:]


def normalize(value: str) -> str | None:
    """The 18-character form of a well-formed id, or None."""
    if not is_well_formed(value):
        return None
    return value if len(value) == 18 else to_18(value)


def object_for_id(value: str) -> str | None:
    prefix = value[:3]
    for name, key in KEY_PREFIXES.items():
        if key == prefix:
            return name
    return None
