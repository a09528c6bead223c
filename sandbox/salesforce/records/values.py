"""One record's values as Salesforce validates them: coercion, field checks, required fields.

``clean_record`` turns a record as sent (JSON, or Bulk API CSV text) into the values to store
plus the errors Salesforce gives for it. On the hot path of bulk writes a plain valid value
takes a per-field shortcut (``SObject.shortcuts``: ``Field.text_limit`` and
``Field.fast_value``), held equal to the full validation below it by a property test.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sandbox.salesforce import ids
from sandbox.salesforce.records.results import RecordError, RequestError
from sandbox.salesforce.schema import EMAIL_RE, SLOW, Field, SObject

_NO_LIMITS: dict[str, int] = {}
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

# Bulk API 2.0 CSV: "#N/A" sets a field to null; an empty cell leaves the field as it is (on an
# insert, unset). "Prepare CSV Files" / "Valid CSV Record Rows":
# https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/datafiles_prepare_csv.htm
NULL_CELL = "#N/A"


def _label(f: Field) -> str:
    return f.label


def coerce(f: Field, value: Any, *, from_csv: bool) -> tuple[Any, RecordError | None]:
    """A value as stored, or the error Salesforce gives for it."""
    if value is None:
        return None, None
    if f.type == "int":
        if isinstance(value, bool):
            return None, _type_error(f, value, from_csv)
        if isinstance(value, int):
            return value, None
        if isinstance(value, float) and value.is_integer():
            return int(value), None
        if isinstance(value, str):
            text = value.strip()
            if text == "":
                return None, None
            try:
                number = float(text)
            except ValueError:
                return None, _type_error(f, value, from_csv)
            if number.is_integer():
                return int(number), None
        return None, _type_error(f, value, from_csv)
    if f.type in ("double", "currency"):
        if isinstance(value, bool):
            return None, _type_error(f, value, from_csv)
        if isinstance(value, (int, float)):
            return float(value), None
        if isinstance(value, str):
            if value.strip() == "":
                return None, None
            try:
                return float(value.strip()), None
            except ValueError:
                pass
        return None, _type_error(f, value, from_csv)
    if f.type == "date":
        # YYYY-MM-DD only ("Valid Date and DateTime Formats",
        # https://developer.salesforce.com/docs/platform/api-rest/guide/intro-valid-date-formats.md).
        if isinstance(value, str) and _DATE_RE.fullmatch(value.strip()):
            try:
                return date.fromisoformat(value.strip()).isoformat(), None
            except ValueError:
                pass
        if isinstance(value, str) and value == "":
            return None, None
        return None, _type_error(f, value, from_csv)
    if f.type == "boolean":
        if isinstance(value, bool):
            return int(value), None
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return int(value.lower() == "true"), None
        return None, _type_error(f, value, from_csv)
    if isinstance(value, (dict, list)):
        return None, _type_error(f, value, from_csv)
    text = value if isinstance(value, str) else (str(value).lower() if isinstance(value, bool) else str(value))
    # Salesforce stores a blank text value as null: an sObject string field is never empty, only
    # null ("Primitive Data Types", String:
    # https://developer.salesforce.com/docs/platform/apex-dev/references/apex-dev/langcon-apex-primitives.html).
    return (text if text != "" else None), None


def _type_error(f: Field, value: Any, from_csv: bool) -> RecordError:
    if from_csv:
        return RecordError(
            "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{_label(f)}: value not of required type: {value}", [f.name]
        )
    kind = {"int": "int", "boolean": "boolean", "double": "double", "currency": "double", "date": "Date"}.get(
        f.type, "String"
    )
    raise RequestError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from VALUE_STRING value {value} or request may be missing "
        "a required field",
    )


def check_value(f: Field, value: Any) -> RecordError | None:
    if value is None:
        return None
    if isinstance(value, str):
        if f.length and len(value) > f.length:
            return RecordError(
                "STRING_TOO_LONG",
                f"{_label(f)}: data value too large: {value[:200]} (max length={f.length})",
                [f.name],
            )
        if f.type == "email" and not EMAIL_RE.match(value):
            return RecordError("INVALID_EMAIL_ADDRESS", f"{_label(f)}: invalid email address: {value}", [f.name])
        if f.type == "picklist" and f.restricted_picklist and value not in f.picklist_values:
            return RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{_label(f)}: bad value for restricted picklist field: {value}",
                [f.name],
            )
        if f.type == "reference" and ids.normalize(value) is None:
            return RecordError("MALFORMED_ID", f"{_label(f)}: id value of incorrect type: {value}", [f.name])
    if f.type == "int" and isinstance(value, int) and f.digits and abs(value) >= 10**f.digits:
        return RecordError(
            "NUMBER_OUTSIDE_VALID_RANGE",
            f"{_label(f)}: value outside of valid range on numeric field: {value}",
            [f.name],
        )
    return None


def row_to_record(sobject: SObject, row: Any, version: str, fields: list[Field] | None = None) -> dict[str, Any]:
    """A stored row in Salesforce's JSON shape (``attributes`` first, then the fields)."""
    data: dict[str, Any] = {
        "attributes": {"type": sobject.name, "url": f"/services/data/v{version}/sobjects/{sobject.name}/{row['Id']}"}
    }
    for f in fields if fields is not None else sobject.fields:
        if f.compound:
            data[f.name] = f.compound_value(row)
            continue
        value = row[f.name]
        if f.type == "boolean":
            value = bool(value)
        data[f.name] = value
    return data


def clean_record(
    sobject: SObject, data: dict[str, Any], *, creating: bool, from_csv: bool, key_field: Field | None = None
) -> tuple[dict[str, Any], list[RecordError]]:
    """The values to store for ``data`` and the errors of the fields Salesforce refuses."""
    values: dict[str, Any] = {}
    errors: list[RecordError] = []
    text_limits, fast_values = sobject.shortcuts(key_field.name if key_field is not None else None)
    if from_csv:
        text_limits = _NO_LIMITS  # NULL_CELL is not text there
    for key, raw in data.items():
        # The hot path of bulk writes: a plain valid value of a writable field, as the full
        # validation below would store it (everything else falls through to it).
        limit = text_limits.get(key)
        if limit is not None and type(raw) is str and raw and len(raw) <= limit:
            values[key] = raw
            continue
        fast = fast_values.get(key)
        if fast is not None and not (from_csv and raw == NULL_CELL):
            value = fast(raw)
            if value is not SLOW:
                values[key] = value
                continue
        elif key == "attributes":
            continue
        f = sobject.by_name.get(key)
        if f is None:
            f = sobject.field(key)
        if f is None:
            errors.append(RecordError("INVALID_FIELD", f"No such column '{key}' on sobject of type {sobject.name}"))
            continue
        if f.name == "Id" or f is key_field:
            continue
        if (creating and not f.createable) or (not creating and not f.updateable):
            errors.append(
                RecordError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {f.name}. Please check the security settings of this field "
                    "and verify that it is read/write for your profile or permission set.",
                    [f.name],
                )
            )
            continue
        if from_csv and raw == NULL_CELL:
            raw = None
        elif from_csv and raw == "":
            continue
        if isinstance(raw, str) and f.is_text and raw:
            value, error = raw, None  # the common case, without the generic coercion
        else:
            value, error = coerce(f, raw, from_csv=from_csv)
        if error is None:
            error = check_value(f, value)
        if error is not None:
            errors.append(error)
            continue
        values[f.name] = value
    return values, errors


def missing_required(sobject: SObject, merged: dict[str, Any], row: Any = None) -> RecordError | None:
    """Required fields null after the write (``merged`` values over the stored ``row``): a create
    must give them, and an update cannot clear them ("Required Fields", Object Reference:
    https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/required_fields.htm).
    One error per record, naming every such field; the other records of the call are not held up."""
    for name in sobject.required_names:
        if (merged[name] if name in merged else (row[name] if row is not None else None)) is None:
            break
    else:
        return None  # the common case, without building the list
    missing = [
        name
        for name in sobject.required_names
        if (merged[name] if name in merged else (row[name] if row is not None else None)) is None
    ]
    return RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)


def with_defaults(sobject: SObject, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` of a record being created, with the object's defaults for the fields it leaves out."""
    merged = dict(values)
    for name, default in sobject.create_defaults:
        if name not in merged:
            merged[name] = default
    return merged
