"""One bad record never blocks its batch neighbours.

HubSpot refuses a whole batch write for one bad input: a 409 ``Contact already exists. Existing ID:
N`` when an update gives a contact an email another contact has, a 400 ``VALIDATION_ERROR`` for
an invalid value, and writes none of the batch. ``send_isolating`` sends the batch as one call;
only when HubSpot refuses it does it send the batch again in parts until every other record has
gone through, and files each refused record as a :class:`RecordError`:

- the refusal names its culprits when it can: a 409 on email can only come from the inputs that
  set an email, a 400 from those that set a property it names. The others go again in one call;
  a single suspect is the culprit without another call, and one named property refused whatever
  its value (``PROPERTY_DOESNT_EXIST``, ``READ_ONLY_VALUE``) fails every input setting it;
- otherwise the group is halved, and halved again, down to single records.

Each call is counted by the client (a refused batch of 100 with one bad email that only it sets
costs 2 calls; halving to an unnamed culprit about 15). A 429, 5xx or lost connection on the first
call is raised as before (the client's retry policy has already run): only refusals are split.
Once splitting, such an error files that part's records (``api_limit``/``connection``) and the
other parts still go.

Categories are the sync's own values (``ErrorCategory``), so it files them as they come: a 409 is
a *duplicate* (with the existing contact's id when HubSpot names it), a 400 an *invalid value*,
never a connection problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any, TypedDict, TypeVar

from integration.clients.base import ClientError, Conflict, ValidationFailed

T = TypeVar("T")

_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")
_INVALID_PREFIX = "Property values were not valid:"
# Refused whatever the value: every input setting the property fails alike.
VALUE_INDEPENDENT = frozenset({"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE"})


class ErrorCategory(StrEnum):
    """What a refused record is filed under (the same strings as the sync's categories)."""

    DUPLICATE = "duplicate"
    INVALID_VALUE = "invalid_value"
    PERMISSION = "permission"
    API_LIMIT = "api_limit"
    CONNECTION = "connection"
    OTHER = "other"


class RecordError(TypedDict):
    """One record HubSpot did not write. ``id``/``email`` name the input (either may be None);
    ``code`` is HubSpot's most specific code (``CONFLICT``, ``INVALID_EMAIL``,
    ``OBJECT_NOT_FOUND``...), ``status`` the HTTP status, ``existing_id`` the contact already
    holding the email of a duplicate."""

    id: str | None
    email: str | None
    category: str
    code: str
    message: str
    status: int
    existing_id: str | None
    context: dict[str, list[str]]


def category_for_status(status: int) -> ErrorCategory:
    if status == 409:
        return ErrorCategory.DUPLICATE
    if status == 429:
        return ErrorCategory.API_LIMIT
    if status == 403:
        return ErrorCategory.PERMISSION
    if status == 401 or status == 0 or status >= 500:
        return ErrorCategory.CONNECTION
    if status == 400:
        return ErrorCategory.INVALID_VALUE
    return ErrorCategory.OTHER


def existing_id(exc: ClientError) -> str | None:
    """The id of the contact that already has the email (409 ``Existing ID: N``)."""
    body = exc.body if isinstance(exc.body, dict) else {}
    for key in ("existingId", "existing_id", "id"):
        values = (body.get("context") or {}).get(key)
        if values:
            return str(values[0])
    match = _EXISTING_ID.search(exc.message or "")
    return match.group(1) if match else None


def invalid_properties(exc: ClientError) -> list[tuple[str, str]]:
    """``(property, code)`` of each value a 400 names: from ``errors[].context.propertyName`` or,
    as HubSpot words it, the JSON list after ``Property values were not valid:``."""
    body = exc.body if isinstance(exc.body, dict) else {}
    found = [
        (name, str(e.get("code") or ""))
        for e in body.get("errors") or []
        if isinstance(e, dict)
        for name in (e.get("context") or {}).get("propertyName") or []
    ]
    message = exc.message or ""
    if not found and message.startswith(_INVALID_PREFIX):
        try:
            details = json.loads(message[len(_INVALID_PREFIX) :])
        except ValueError:
            details = []
        found = [
            (str(d.get("name")), str(d.get("error") or "")) for d in details if isinstance(d, dict) and d.get("name")
        ]
    return found


def record_error(ident: str | None, email: str | None, exc: ClientError) -> RecordError:
    body = exc.body if isinstance(exc.body, dict) else {}
    codes = [code for _name, code in invalid_properties(exc) if code]
    context = body.get("context") if isinstance(body.get("context"), dict) else {}
    return {
        "id": ident,
        "email": email,
        "category": category_for_status(exc.status),
        "code": codes[0] if codes else exc.code or type(exc).__name__,
        "message": exc.message,
        "status": exc.status,
        "existing_id": existing_id(exc) if exc.status == 409 else None,
        "context": {str(k): [str(v) for v in vs] for k, vs in context.items() if isinstance(vs, list)},
    }


def _culprits(values: list[dict[str, str]], group: list[int], exc: ClientError) -> tuple[list[int], bool] | None:
    """The inputs of ``group`` that can have caused ``exc``, and whether they all did; None when
    the refusal names nothing to narrow by."""
    if isinstance(exc, Conflict) and existing_id(exc) is not None:
        suspects = [i for i in group if values[i].get("email")]
        return (suspects, len(suspects) == 1) if suspects else None
    named = invalid_properties(exc)
    if not named:
        return None
    names = {name for name, _code in named}
    suspects = [i for i in group if names & values[i].keys()]
    if not suspects:
        return None
    return suspects, len(suspects) == 1 or all(code in VALUE_INDEPENDENT for _name, code in named)


def send_isolating(
    items: Sequence[T],
    send: Callable[[list[T]], dict[str, Any]],
    *,
    identify: Callable[[T], tuple[str | None, str | None]],
    values: Callable[[T], dict[str, str]],
) -> tuple[list[dict[str, Any]], list[RecordError]]:
    """Send ``items`` in one call of ``send``, splitting only when HubSpot refuses it; the
    answers of the calls that went through, and an error for each record that did not.
    ``identify(item)`` is its ``(id, email)``, ``values(item)`` the properties it sets."""
    props = [values(item) for item in items]
    answers: list[dict[str, Any]] = []
    errors: list[RecordError] = []
    pending: list[list[int]] = [list(range(len(items)))]

    def fail(indices: list[int], exc: ClientError) -> None:
        shared = record_error(None, None, exc)  # parsed once for every record it refuses
        for i in indices:
            ident, email = identify(items[i])
            errors.append({**shared, "id": ident, "email": email})

    calls = 0
    while pending:
        group = pending.pop()
        calls += 1
        try:
            answers.append(send([items[i] for i in group]))
        except (Conflict, ValidationFailed) as exc:
            if len(group) == 1:
                fail(group, exc)
                continue
            narrowed = _culprits(props, group, exc)
            if narrowed is not None:
                suspects, certain = narrowed
                blamed = set(suspects)
                cleared = [i for i in group if i not in blamed]
                if cleared:
                    pending.append(cleared)
                if certain:
                    fail(suspects, exc)  # e.g. all of them set a property HubSpot does not have
                    continue
                if cleared:
                    pending.append(suspects)
                    continue
            half = len(group) // 2
            pending += [group[half:], group[:half]]
        except ClientError as exc:
            if calls == 1:
                raise  # not a refusal of the batch: as before, the caller's to handle
            fail(group, exc)
    return answers, errors
