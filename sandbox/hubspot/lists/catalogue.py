"""What HubSpot's Lists v3 spec (``crm-lists-v3.json``, ``components.schemas.Public*``) documents
about filter definitions, as tables, and which parts of it the sandbox evaluates itself.

The field tables mirror the spec's ``required`` and ``properties`` (a test reads the spec and holds
them equal). ``includeObjectsWithNoValueSet``, ``requiresTimeZoneConversion`` and
``filterBranchOperator`` are required in the spec's responses but optional in requests (HubSpot's
own request examples leave them out): the stored form fills them in (:mod:`.definition`).

Operators: the spec types ``operator`` as a plain string. The operators per operation type below
follow HubSpot's list filters guide ("Property filter operations",
https://developers.hubspot.com/docs/api-reference/crm-lists-v3/list-filters) as far as the
sandbox knows it: DESIGN §5's set is certain; the ``HAS_EVER_*``/``HAS_NEVER_*`` history
operators, ENUMERATION's ``IS_EXACTLY``/``CONTAINS_ALL`` families and the rolling ``..._FROM_NOW``
operators are the guide's names as remembered, not checked against a copy of it. An operator
missing from ``OPERATORS`` is refused with a message listing the known ones; an operation type
missing from it takes any non-empty operator (the sandbox never evaluates it).
"""

from __future__ import annotations

# Field kinds: "str", "int", "number", "bool", "object", "list[str]", "list[object]", "list[int]".
Fields = dict[str, str]

#: filterType -> (required fields, optional fields); ``filterType`` itself left out.
FILTER_TYPES: dict[str, tuple[Fields, Fields]] = {
    "PROPERTY": ({"operation": "object", "property": "str"}, {}),
    "IN_LIST": ({"listId": "str", "operator": "str"}, {"metadata": "object"}),
    "ASSOCIATION": (
        {
            "associationCategory": "str",
            "associationTypeId": "int",
            "coalescingRefineBy": "object",
            "listId": "str",
            "operator": "str",
        },
        {"toObjectType": "str", "toObjectTypeId": "str"},
    ),
    "PAGE_VIEW": (
        {"operator": "str", "pageUrl": "str"},
        {"coalescingRefineBy": "object", "enableTracking": "bool", "pruningRefineBy": "object"},
    ),
    "CTA": ({"ctaName": "str", "operator": "str"}, {"coalescingRefineBy": "object", "pruningRefineBy": "object"}),
    "EVENT": ({"eventId": "str", "operator": "str"}, {"coalescingRefineBy": "object", "pruningRefineBy": "object"}),
    "FORM_SUBMISSION": (
        {"operator": "str"},
        {"coalescingRefineBy": "object", "formId": "str", "pruningRefineBy": "object"},
    ),
    "FORM_SUBMISSION_ON_PAGE": (
        {"operator": "str", "pageId": "str"},
        {"coalescingRefineBy": "object", "formId": "str", "pruningRefineBy": "object"},
    ),
    "INTEGRATION_EVENT": ({"eventTypeId": "int", "filterLines": "list[object]"}, {}),
    "EMAIL_SUBSCRIPTION": (
        {"acceptedStatuses": "list[str]", "subscriptionIds": "list[str]"},
        {"subscriptionType": "str"},
    ),
    "COMMUNICATION_SUBSCRIPTION": (
        {"acceptedOptStates": "list[str]", "channel": "str", "subscriptionIds": "list[str]", "subscriptionType": "str"},
        {"businessUnitId": "str"},
    ),
    "SURVEY_MONKEY": ({"operator": "str", "surveyId": "str"}, {}),
    "SURVEY_MONKEY_VALUE": (
        {"operator": "str", "surveyId": "str", "surveyQuestion": "str", "valueComparison": "object"},
        {"surveyAnswerColId": "str", "surveyAnswerRowId": "str"},
    ),
    "WEBINAR": ({"operator": "str"}, {"webinarId": "str"}),
    "EMAIL_EVENT": (
        {"appId": "str", "emailId": "str", "level": "str", "operator": "str"},
        {"clickUrl": "str", "pruningRefineBy": "object"},
    ),
    "PRIVACY": ({"operator": "str", "privacyName": "str"}, {}),
    "ADS_SEARCH": (
        {
            "adNetwork": "str",
            "entityType": "str",
            "operator": "str",
            "searchTermType": "str",
            "searchTerms": "list[str]",
        },
        {},
    ),
    "ADS_TIME": ({"pruningRefineBy": "object"}, {}),
    "UNIFIED_EVENTS": (
        {"filterLines": "list[object]"},
        {"coalescingRefineBy": "object", "eventTypeId": "str", "pruningRefineBy": "object"},
    ),
    "CONSTANT": ({"shouldAccept": "bool"}, {"source": "str"}),
}

#: Enumerations the spec gives for a filter's field.
FILTER_ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("FORM_SUBMISSION", "operator"): ("FILLED_OUT", "NOT_FILLED_OUT"),
    ("FORM_SUBMISSION_ON_PAGE", "operator"): ("FILLED_OUT", "NOT_FILLED_OUT"),
    ("EMAIL_EVENT", "operator"): (
        "BOUNCED",
        "LINK_CLICKED",
        "MARKED_SPAM",
        "OPENED",
        "OPENED_BUT_LINK_NOT_CLICKED",
        "OPENED_BUT_NOT_REPLIED",
        "RECEIVED",
        "RECEIVED_BUT_NOT_OPENED",
        "REPLIED",
        "SENT",
        "SENT_BUT_LINK_NOT_CLICKED",
        "SENT_BUT_NOT_RECEIVED",
        "UNSUBSCRIBED",
    ),
    ("IN_LIST", "operator"): ("IN_LIST", "NOT_IN_LIST"),
}

#: filterBranchType -> (required fields besides filters/filterBranches/filterBranchOperator, optional).
BRANCH_TYPES: dict[str, tuple[Fields, Fields]] = {
    "OR": ({}, {}),
    "AND": ({}, {}),
    "NOT_ALL": ({}, {}),
    "NOT_ANY": ({}, {}),
    "RESTRICTED": ({}, {}),
    "UNIFIED_EVENTS": (
        {"eventTypeId": "str", "operator": "str"},
        {"coalescingRefineBy": "object", "pruningRefineBy": "object"},
    ),
    "ASSOCIATION": (
        {"associationCategory": "str", "associationTypeId": "int", "objectTypeId": "str", "operator": "str"},
        {},
    ),
}
BRANCH_ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("UNIFIED_EVENTS", "operator"): ("HAS_COMPLETED", "HAS_NOT_COMPLETED"),
}
#: The ``filterBranchOperator`` HubSpot answers with for each branch type (its create example
#: shows ``"AND"`` on an ASSOCIATION branch).
BRANCH_OPERATORS = {
    "OR": "OR",
    "AND": "AND",
    "NOT_ALL": "NOT_ALL",
    "NOT_ANY": "NOT_ANY",
    "RESTRICTED": "AND",
    "UNIFIED_EVENTS": "AND",
    "ASSOCIATION": "AND",
}

#: operationType -> (required fields besides operationType/operator/includeObjectsWithNoValueSet,
#: optional fields). TIME_RANGED is discriminated by ``type`` in the spec, not ``operationType``.
OPERATION_TYPES: dict[str, tuple[Fields, Fields]] = {
    "ALL_PROPERTY": ({}, {}),
    "BOOL": ({"value": "bool"}, {}),
    "STRING": ({"value": "str"}, {}),
    "MULTISTRING": ({"values": "list[str]"}, {}),
    "NUMBER": ({"value": "number"}, {}),
    "NUMBER_RANGED": ({"lowerBound": "int", "upperBound": "int"}, {}),
    "ENUMERATION": ({"values": "list[str]"}, {}),
    "DATETIME": ({"timestamp": "int"}, {"requiresTimeZoneConversion": "bool"}),
    "RANGED_DATE": ({"lowerBound": "int", "upperBound": "int"}, {"requiresTimeZoneConversion": "bool"}),
    "ROLLING_DATE_RANGE": ({"numberOfDays": "int"}, {"requiresTimeZoneConversion": "bool"}),
    "ROLLING_PROPERTY_UPDATED": ({"numberOfDays": "int"}, {}),
    "COMPARATIVE_DATE": ({"comparisonPropertyName": "str"}, {"defaultComparisonValue": "str"}),
    "COMPARATIVE_PROPERTY_UPDATED": ({"comparisonPropertyName": "str"}, {"defaultComparisonValue": "str"}),
    "COMPARATIVE_STRING": ({"comparisonPropertyName": "str"}, {"defaultComparisonValue": "str"}),
    "DATE": ({"day": "int", "month": "str", "year": "int"}, {}),
    "CALENDAR_DATE": (
        {"timeUnit": "str"},
        {"fiscalYearStart": "str", "timeUnitCount": "int", "useFiscalYear": "bool"},
    ),
    "TIME_POINT": ({"timePoint": "object", "type": "str"}, {"endpointBehavior": "str", "propertyParser": "str"}),
    "TIME_RANGED": (
        {"lowerBoundTimePoint": "object", "upperBoundTimePoint": "object", "type": "str"},
        {"lowerBoundEndpointBehavior": "str", "propertyParser": "str", "upperBoundEndpointBehavior": "str"},
    ),
}
#: Booleans the spec requires in the stored form of these operations (false when not sent).
REQUIRED_FLAGS: dict[str, tuple[str, ...]] = dict.fromkeys(
    ("DATETIME", "RANGED_DATE", "ROLLING_DATE_RANGE"), ("requiresTimeZoneConversion",)
)

_STRING_OPERATORS = ("IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "CONTAINS", "DOES_NOT_CONTAIN", "STARTS_WITH", "ENDS_WITH")
_COMPARISONS = (
    "IS_EQUAL_TO",
    "IS_NOT_EQUAL_TO",
    "IS_GREATER_THAN",
    "IS_GREATER_THAN_OR_EQUAL_TO",
    "IS_LESS_THAN",
    "IS_LESS_THAN_OR_EQUAL_TO",
)
_EVER = ("HAS_EVER_BEEN_EQUAL_TO", "HAS_NEVER_BEEN_EQUAL_TO")
_ENUM_SETS = ("IS_ANY_OF", "IS_NONE_OF", "IS_EXACTLY", "IS_NOT_EXACTLY", "CONTAINS_ALL", "DOES_NOT_CONTAIN_ALL")
_ROLLING = (
    "IS_LESS_THAN_X_DAYS_AGO",
    "IS_MORE_THAN_X_DAYS_AGO",
    "IS_LESS_THAN_X_DAYS_FROM_NOW",
    "IS_MORE_THAN_X_DAYS_FROM_NOW",
)

#: operationType -> the operators the sandbox evaluates itself (the rest of ``OPERATORS`` is
#: accepted; a list using it has its memberships set through the control endpoint).
EVALUATED: dict[str, tuple[str, ...]] = {
    "ALL_PROPERTY": ("IS_KNOWN", "IS_UNKNOWN"),
    "BOOL": ("IS_EQUAL_TO", "IS_NOT_EQUAL_TO"),
    "STRING": _STRING_OPERATORS,
    "MULTISTRING": _STRING_OPERATORS,
    "NUMBER": _COMPARISONS,
    "NUMBER_RANGED": ("IS_BETWEEN", "IS_NOT_BETWEEN"),
    "ENUMERATION": _ENUM_SETS,
    "DATETIME": ("IS_BEFORE", "IS_AFTER"),
    "RANGED_DATE": ("IS_BETWEEN", "IS_NOT_BETWEEN"),
    "ROLLING_DATE_RANGE": _ROLLING,
}

#: operationType -> every operator HubSpot documents for it.
OPERATORS: dict[str, tuple[str, ...]] = {
    **EVALUATED,
    "BOOL": (*EVALUATED["BOOL"], *_EVER),
    "STRING": (*_STRING_OPERATORS, *_EVER, "HAS_EVER_CONTAINED", "HAS_NEVER_CONTAINED"),
    "NUMBER": (*_COMPARISONS, *_EVER),
    "ENUMERATION": (
        *_ENUM_SETS,
        "HAS_EVER_BEEN_ANY_OF",
        "HAS_NEVER_BEEN_ANY_OF",
        "HAS_EVER_BEEN_EXACTLY",
        "HAS_NEVER_BEEN_EXACTLY",
        "HAS_EVER_CONTAINED_ALL",
        "HAS_NEVER_CONTAINED_ALL",
    ),
    "DATETIME": ("IS_EQUAL_TO", "IS_BEFORE", "IS_AFTER"),
    "ROLLING_PROPERTY_UPDATED": ("IS_LESS_THAN_X_DAYS_AGO", "IS_MORE_THAN_X_DAYS_AGO"),
    "TIME_POINT": ("IS_AFTER", "IS_BEFORE"),
    "TIME_RANGED": ("IS_BETWEEN", "IS_NOT_BETWEEN"),
}

_DATES = ("date", "datetime")
#: operationType -> the contact property types it applies to (absent: any type), as the
#: product's criteria engine has them (DESIGN §5) plus the date operations it does not evaluate.
PROPERTY_TYPES: dict[str, tuple[str, ...]] = {
    "STRING": ("string",),
    "MULTISTRING": ("string",),
    "COMPARATIVE_STRING": ("string",),
    "NUMBER": ("number",),
    "NUMBER_RANGED": ("number",),
    "BOOL": ("bool",),
    "ENUMERATION": ("enumeration",),
    "DATETIME": _DATES,
    "RANGED_DATE": _DATES,
    "ROLLING_DATE_RANGE": _DATES,
    "COMPARATIVE_DATE": _DATES,
    "DATE": _DATES,
    "CALENDAR_DATE": _DATES,
    "TIME_POINT": _DATES,
    "TIME_RANGED": _DATES,
}

#: Filter types the sandbox evaluates itself (PROPERTY only with an operator of ``EVALUATED``).
EVALUATED_FILTERS = ("PROPERTY", "IN_LIST", "CONSTANT")
#: Branch types the sandbox evaluates itself.
EVALUATED_BRANCHES = ("OR", "AND")
