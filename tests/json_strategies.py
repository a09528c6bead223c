"""Hypothesis strategies of arbitrary JSON for the fuzzers (``tests/test_fuzz.py``,
``tests/test_fuzz_criteria.py``): any value, with the words and keys of the criteria and of
HubSpot's webhook events mixed in, numbers JSON allows but Python's json module never writes,
and raw bodies that are not JSON at all."""

from __future__ import annotations

import json

from hypothesis import strategies as st

from lists.criteria import OPERATORS

CRITERIA_KEYS = [
    "filterBranchType",
    "filters",
    "filterBranches",
    "filterType",
    "property",
    "operation",
    "operationType",
    "operator",
    "value",
    "values",
    "listId",
    "timestamp",
    "numberOfDays",
    "lowerBound",
    "upperBound",
    "includeObjectsWithNoValueSet",
    "metadata",
]
CRITERIA_WORDS = [
    "OR",
    "AND",
    "PROPERTY",
    "IN_LIST",
    "NOT_IN_LIST",
    *OPERATORS,
    *{o for ops in OPERATORS.values() for o in ops},
]
# Numbers as JSON text can be what Python's json module would never write: kept as text and
# spliced in after json.dumps (see ``to_json``).
RAW_NUMBERS = ["9" * 5_000, "-" + "9" * 120, "1e999", "-1e999", "1" + "0" * 4_400, "0." + "0" * 200 + "1"]
_RAW = "\u2063raw:"  # a marker no generated text contains (see ``to_json``)

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**15, max_value=10**120),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["", "\x00", "\ud800", "%", "_", "\\", "'", '"', "²", "٣", "1e309", "2024-02-30", "France"]),
    st.sampled_from(CRITERIA_WORDS),
    st.sampled_from(RAW_NUMBERS).map(lambda digits: _RAW + digits),
)
json_values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.one_of(st.sampled_from(CRITERIA_KEYS), st.text(max_size=8)), children, max_size=6)
    ),
    max_leaves=40,
)


def to_json(value: object) -> str:
    """JSON text of a generated value, with its raw numbers spliced in."""
    text = json.dumps(value)
    for digits in RAW_NUMBERS:
        text = text.replace(json.dumps(_RAW + digits), digits)
    return text


def from_json(value: object) -> object:
    """The generated value as a Python caller would pass it (raw numbers as numbers)."""
    if isinstance(value, str) and value.startswith(_RAW):
        digits = value.removeprefix(_RAW)
        return float(digits) if "e" in digits or "." in digits else 10 ** (len(digits) - 1)
    if isinstance(value, list):
        return [from_json(item) for item in value]
    if isinstance(value, dict):
        return {key: from_json(item) for key, item in value.items()}
    return value


raw_bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.integers(min_value=1, max_value=20_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=1, max_value=20_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
)


def json_places(node: object):
    """Every (container, key) of a JSON value, to replace one value by another."""
    if isinstance(node, dict):
        for key, child in node.items():
            yield node, key
            yield from json_places(child)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield node, index
            yield from json_places(child)
