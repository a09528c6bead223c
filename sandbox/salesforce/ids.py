"""Salesforce-shaped record ids: 15 case-sensitive characters plus the 3-character suffix.

The suffix is Salesforce's own case-safe checksum: for each 5-character chunk of the 15-character
id, a 5-bit number whose bit *i* is set when character *i* is an upper-case letter, mapped onto
``A-Z0-5``. That is what lets clients compare ids case-insensitively, so an emulator that made up
its own suffix would teach client code a habit that fails against a real org.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX_CHARS = string.ascii_uppercase + "012345"
# Our "pod" and reserved characters, fixed so every id of the sandbox looks alike.
_POD = "5g0"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")

KEY_PREFIXES = {
    "Lead": "00Q",
    "Contact": "003",
    "Account": "001",
    "User": "005",
    "AssignmentRule": "01Q",
    "Organization": "00D",
}
JOB_PREFIX = "750"
QUERY_LOCATOR_PREFIX = "01g"


# Upper-case letters to "1", anything else to "0": a chunk's flags, read right to left, in binary.
_UPPER_BITS = str.maketrans({char: "1" if char in string.ascii_uppercase else "0" for char in _BASE62})


def checksum(id15: str) -> str:
    """The 3-character case-safe suffix of a 15-character id."""
    if len(id15) != 15:
        raise ValueError("A Salesforce id to checksum has exactly 15 characters.")
    if not id15.isascii() or not id15.isalnum():
        return _checksum_slow(id15)
    bits = id15.translate(_UPPER_BITS)
    return _SUFFIX_CHARS[int(bits[4::-1], 2)] + _SUFFIX_CHARS[int(bits[9:4:-1], 2)] + _SUFFIX_CHARS[int(bits[:9:-1], 2)]


def _checksum_slow(id15: str) -> str:
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


# make_id() is on the path of every insert, so it works on base-62 pairs: each pair's two
# characters and their two upper-case flags come from one table.
_PAIRS = [a + b for a in _BASE62 for b in _BASE62]
_PAIR_FLAGS = [(a in string.ascii_uppercase) | (b in string.ascii_uppercase) << 1 for a in _BASE62 for b in _BASE62]
_DIGIT_FLAGS = [int(char in string.ascii_uppercase) for char in _BASE62]
_LOW = 62**5  # the id's last chunk holds the record number's five lowest base-62 digits


@lru_cache(maxsize=64)
def _head(prefix: str, high: int) -> tuple[str, str]:
    """The first 10 characters of an id (prefix, pod, 4 high digits) and their 2 suffix characters."""
    digits = ""
    for _ in range(4):
        high, rest = divmod(high, 62)
        digits = _BASE62[rest] + digits
    head = prefix + _POD + digits
    return head, checksum(head + "00000")[:2]


def make_id(prefix: str, number: int) -> str:
    """The 18-character id of the ``number``-th record with key prefix ``prefix``."""
    if number < 0:
        raise ValueError("Record numbers are positive.")
    if number >= 62**9:
        raise ValueError("Record number out of range.")
    high, low = divmod(number, _LOW)
    head, suffix = _head(prefix, high)
    first, rest = divmod(low, 62**4)
    middle, last = divmod(rest, 62**2)
    flags = _DIGIT_FLAGS[first] | _PAIR_FLAGS[middle] << 1 | _PAIR_FLAGS[last] << 3
    return head + _BASE62[first] + _PAIRS[middle] + _PAIRS[last] + suffix + _SUFFIX_CHARS[flags]


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
