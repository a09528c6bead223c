"""Owners checked: an ``OwnerId`` written must name an active user.

A malformed id is refused earlier, by the field check (``MALFORMED_ID``). A well-formed id that is
not a User's (another object's prefix) fails with ``FIELD_INTEGRITY_EXCEPTION``, as Salesforce
answers a lookup given another object's id ("id value of incorrect type"); a User id no user has
with ``INVALID_CROSS_REFERENCE_KEY``; an inactive user with ``INACTIVE_OWNER_OR_USER``,
"operation performed with inactive user" (Salesforce's words, e.g. in
https://help.salesforce.com/apex/HTViewSolution?id=000205862&language=en_US: Leads and Contacts
cannot be owned by an inactive user). Each fails its record only.

The default owner of a create, the integration user behind the session, is not looked up: a
session's user is active (it could not call otherwise). A 15-character id is stored as its
18-character form, as Salesforce stores every id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.salesforce import ids
from sandbox.salesforce.org import INTEGRATION_USER_ID
from sandbox.salesforce.records.results import RecordError

if TYPE_CHECKING:
    from sandbox.salesforce.records.plans import Plan
    from sandbox.salesforce.store import SalesforceStore

OWNER = "OwnerId"
USER_PREFIX = ids.KEY_PREFIXES["User"]


def owner_checks(store: SalesforceStore, plans: list[Plan], errors_by_index: dict[int, list[RecordError]]) -> None:
    """Refuse (in ``errors_by_index``) the plans whose owner is not an active user."""
    given = {owner for plan in plans if (owner := plan.values.get(OWNER)) is not None and owner != INTEGRATION_USER_ID}
    if not given:
        return  # the usual write: no owner given, or the default one
    normalized = {raw: ids.normalize(raw) for raw in given}
    wanted = sorted({i for i in normalized.values() if i and i[:3] == USER_PREFIX})
    active: dict[str, bool] = {}
    if wanted:
        sql = f'SELECT "Id", "IsActive" FROM "User" WHERE "Id" IN ({",".join("?" * len(wanted))})'
        active = {row[0]: bool(row[1]) for row in store.read().execute(sql, wanted)}
    for plan in plans:
        raw = plan.values.get(OWNER)
        if raw is None or raw == INTEGRATION_USER_ID or plan.index in errors_by_index:
            continue
        owner = normalized[raw]
        error = None
        if owner is None or owner[:3] != USER_PREFIX:
            error = RecordError("FIELD_INTEGRITY_EXCEPTION", f"Owner ID: id value of incorrect type: {raw}", [OWNER])
        elif owner not in active:
            error = RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [OWNER])
        elif not active[owner]:
            error = RecordError("INACTIVE_OWNER_OR_USER", "operation performed with inactive user", [])
        if error is not None:
            errors_by_index[plan.index] = [error]
        else:
            plan.values[OWNER] = owner
