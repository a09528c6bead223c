"""Salesforce and HubSpot errors → the categories ops triage by, and which errors are worth a retry."""

from __future__ import annotations

from sync.models import Category

CATEGORY_BY_CODE: dict[str, str] = {
    "REQUIRED_FIELD_MISSING": Category.REQUIRED_FIELD,
    "INVALID_EMAIL_ADDRESS": Category.INVALID_VALUE,
    "STRING_TOO_LONG": Category.INVALID_VALUE,
    "INVALID_TYPE_ON_FIELD_IN_RECORD": Category.INVALID_VALUE,
    "NUMBER_OUTSIDE_VALID_RANGE": Category.INVALID_VALUE,
    "INVALID_FIELD": Category.INVALID_VALUE,
    "INVALID_FIELD_FOR_INSERT_UPDATE": Category.INVALID_VALUE,
    "JSON_PARSER_ERROR": Category.INVALID_VALUE,
    "MALFORMED_ID": Category.INVALID_VALUE,
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": Category.PICKLIST,
    "BAD_VALUE_FOR_RESTRICTED_PICKLIST": Category.PICKLIST,
    "DUPLICATES_DETECTED": Category.DUPLICATE,
    "DUPLICATE_VALUE": Category.DUPLICATE,
    "DUPLICATE_EXTERNAL_ID": Category.DUPLICATE,
    "INSUFFICIENT_ACCESS": Category.PERMISSION,
    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY": Category.PERMISSION,
    "INSUFFICIENT_ACCESS_OR_READONLY": Category.PERMISSION,
    "API_DISABLED_FOR_ORG": Category.PERMISSION,
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": Category.VALIDATION_RULE,
    "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY": Category.VALIDATION_RULE,
    "FIELD_INTEGRITY_EXCEPTION": Category.VALIDATION_RULE,
    "REQUEST_LIMIT_EXCEEDED": Category.API_LIMIT,
    "TOO_MANY_REQUESTS": Category.API_LIMIT,
    "INVALID_SESSION_ID": Category.CONNECTION,
    "INVALID_AUTH_HEADER": Category.CONNECTION,
    "CONNECTION_ERROR": Category.CONNECTION,
    "SERVER_UNAVAILABLE": Category.CONNECTION,
}

# Worth trying again later without any change to the data.
TRANSIENT_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",
        "REQUEST_LIMIT_EXCEEDED",
        "TOO_MANY_REQUESTS",
        "SERVER_UNAVAILABLE",
        "CONNECTION_ERROR",
        "INVALID_SESSION_ID",
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    }
)

# The stored Salesforce id no longer points to a record (deleted or merged): sync.engine.lifecycle.
GONE_CODES = frozenset({"ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY"})
# A write to a Lead converted since it was linked: the contact follows its Contact (lifecycle).
CONVERTED_LEAD = "CANNOT_UPDATE_CONVERTED_LEAD"


def category_for(code: str) -> str:
    return CATEGORY_BY_CODE.get(code, Category.OTHER)


def hubspot_error_category(error: dict) -> str:
    """Our category of one contact's error in a HubSpot batch answer: the client files each
    refused record (``RecordError.category``: a duplicate email is a duplicate, never a
    connection problem)."""
    category = error.get("category")
    return str(category) if category in Category.values else Category.OTHER


def is_transient(code: str) -> bool:
    return code in TRANSIENT_CODES


class RunStopped(Exception):
    """The run cannot go on (authentication refused, API limit reached)."""

    def __init__(self, message: str, *, category: str) -> None:
        super().__init__(message)
        self.category = category
