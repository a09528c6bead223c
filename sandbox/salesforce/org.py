"""The sandbox org as a fresh sandbox has it: its users and its lead assignment rule.

Users (``User``, ids ``005…`` numbered in this order, the same in every sandbox and after every
reset; the HubSpot sandbox seeds owners with the same emails, all but ``sf.only``):

=================================  ==================  ======
email                              name                active
=================================  ==================  ======
``integration@sandbox.example``    Integration User    yes: the user behind the ``sandbox`` token,
                                                       the default owner of new records
``amelie.martin@sandbox.example``  Amélie Martin       yes
``james.smith@sandbox.example``    James Smith         yes
``hans.mueller@sandbox.example``   Hans Müller         yes
``sf.only@sandbox.example``        Sam Salesforceonly  yes (no HubSpot owner)
``former.rep@sandbox.example``     Former Rep          no
=================================  ==================  ======

The lead assignment rule "Route by country" (``AssignmentRule`` ``01Q…``, active) gives a Lead
to Amélie Martin when its Country is France, to Hans Müller for Germany, to James Smith for the
United States, and leaves any other Lead's owner as it is. Its entries and whether it is active
are the sandbox setting ``lead_assignment_rule`` (``clean_rule_setting`` checks a change).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.salesforce import ids


@dataclass(frozen=True)
class OrgUser:
    email: str
    first_name: str
    last_name: str
    active: bool = True

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


DEFAULT_USERS: tuple[OrgUser, ...] = (
    OrgUser("integration@sandbox.example", "Integration", "User"),
    OrgUser("amelie.martin@sandbox.example", "Amélie", "Martin"),
    OrgUser("james.smith@sandbox.example", "James", "Smith"),
    OrgUser("hans.mueller@sandbox.example", "Hans", "Müller"),
    OrgUser("sf.only@sandbox.example", "Sam", "Salesforceonly"),
    OrgUser("former.rep@sandbox.example", "Former", "Rep", active=False),
)

# The seed numbers users from 1 in DEFAULT_USERS' order, so the integration user is the first.
INTEGRATION_USER_ID = ids.make_id(ids.KEY_PREFIXES["User"], 1)

LEAD_RULE_ID = ids.make_id(ids.KEY_PREFIXES["AssignmentRule"], 1)
LEAD_RULE_NAME = "Route by country"
RULE_SETTING = "lead_assignment_rule"
DEFAULT_LEAD_RULE: dict[str, Any] = {
    "active": True,
    "entries": [
        {"country": "France", "ownerEmail": "amelie.martin@sandbox.example"},
        {"country": "Germany", "ownerEmail": "hans.mueller@sandbox.example"},
        {"country": "United States", "ownerEmail": "james.smith@sandbox.example"},
    ],
}


def clean_rule_setting(given: Any, current: dict[str, Any], user_emails: set[str]) -> dict[str, Any]:
    """The setting ``lead_assignment_rule`` after the change ``given`` (keys it leaves out keep
    their ``current`` value); ``ValueError`` naming what is wrong. ``user_emails``: the org's
    users' emails, lower-cased (an entry must name one of them)."""
    if not isinstance(given, dict):
        raise ValueError('lead_assignment_rule must be an object: {"active": bool, "entries": [...]}.')
    unknown = set(given) - {"active", "entries"}
    if unknown:
        raise ValueError(f"Unknown keys in lead_assignment_rule: {', '.join(sorted(unknown))}.")
    merged = {**current, **given}
    if not isinstance(merged.get("active"), bool):
        raise ValueError("lead_assignment_rule.active must be true or false.")
    entries = merged.get("entries")
    if not isinstance(entries, list):
        raise ValueError("lead_assignment_rule.entries must be a list.")
    cleaned = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"country", "ownerEmail"}:
            raise ValueError('Each rule entry is {"country": "...", "ownerEmail": "..."}.')
        country, email = entry["country"], entry["ownerEmail"]
        if not isinstance(country, str) or not country.strip():
            raise ValueError("A rule entry needs a country.")
        if not isinstance(email, str) or email.lower() not in user_emails:
            raise ValueError(f"No user has the email {email!r}: a rule entry must name one.")
        cleaned.append({"country": country, "ownerEmail": email})
    return {"active": merged["active"], "entries": cleaned}
