"""Field rules as HubSpot documents them, decided one field at a time by a three-way merge.

HubSpot's knowledge base, "Map HubSpot properties to Salesforce fields" (sync rules):
https://knowledge.hubspot.com/salesforce/map-hubspot-properties-to-salesforce-fields

- **Two-way**: the most recent value wins, in both directions; a value deleted on one side is
  deleted on the other.
- **Prefer Salesforce unless blank**: HubSpot passes a value to Salesforce only when Salesforce
  has none; a value in Salesforce always overwrites HubSpot's; deleting it in Salesforce deletes
  it in HubSpot.
- **Always use Salesforce**: HubSpot never passes data to Salesforce, even when Salesforce is
  blank; Salesforce's value always overwrites HubSpot's; deleting it in Salesforce deletes it in
  HubSpot.
- **Don't sync**: data never passes either way (not when a record is created either).

Each field is compared with the values both sides held when they last agreed (``Base``: one value
per side, so a number HubSpot spells "100" and Salesforce 100.0 still agree). A side whose value
differs from its base changed it. A field changed on one side only goes to the other side when
its rule allows; a field changed on both sides goes by its rule, and for Two-way by which side
changed it last (``hubspot_at`` against ``salesforce_at``). **Equal times: Salesforce wins** (the
system sales works in; any fixed choice is deterministic, this one matches the two "Salesforce"
rules). Blank values (``""``) are values: clearing a field is a change.

Without a base for a field, what happens depends on why there is none:

- ``first_sync``: the contact has never synced (or is resynced by hand): values go where the rule
  sends them, a blank side is filled from the other, and where both hold different values the
  side that starts the sync wins (HubSpot for a push or a resync, which is how a new mapping is
  applied to existing records; Salesforce for a record its pull links to a contact);
- otherwise (a mapping added after the contact synced): nothing is written; the values as they
  are become the base, and later edits travel (HubSpot: a new mapping does not rewrite existing
  values retroactively).

Pure: no database, no clock. ``sync.engine.fields`` reads and stores the bases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

TWO_WAY = "two_way"
PREFER_SALESFORCE = "prefer_salesforce"
ALWAYS_SALESFORCE = "always_salesforce"
DONT_SYNC = "dont_sync"
RULES = (TWO_WAY, PREFER_SALESFORCE, ALWAYS_SALESFORCE, DONT_SYNC)

HUBSPOT = "hubspot"
SALESFORCE = "salesforce"


# A plain decimal, as both services write numbers; a leading zero ("0612...") is text, not a number.
_DECIMAL = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?")


def canonical(value: object) -> str:
    """One spelling per value, for comparing the two sides (never for writing): ``None`` and
    blanks are ``""``, booleans ``true``/``false``, decimals without trailing zeros (HubSpot's
    "100" is Salesforce's 100.0), other text stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value.strip() if isinstance(value, str) else str(value).strip()
    first = text[:1]
    if first in ("t", "T", "f", "F") and text.lower() in ("true", "false"):
        return text.lower()
    if isinstance(value, int | float | Decimal) or ((first.isdigit() or first == "-") and _DECIMAL.fullmatch(text)):
        try:
            number = Decimal(text)
        except InvalidOperation:
            return text
        if number.is_finite():
            return (
                str(number.quantize(Decimal(1))) if number == number.to_integral_value() else f"{number.normalize():f}"
            )
    return text


@dataclass(frozen=True)
class Base:
    """The values each side held when both last agreed on this field (``None``: not known)."""

    hubspot: str | None
    salesforce: str | None


@dataclass(frozen=True)
class Conflict:
    """Both sides changed the field since they last agreed."""

    hubspot_value: str
    hubspot_at: datetime | None
    salesforce_value: str
    salesforce_at: datetime | None
    winner: str  # HUBSPOT or SALESFORCE


@dataclass(frozen=True)
class Decision:
    to_salesforce: str | None = None  # the value to write to Salesforce ("" clears); None: no write
    to_hubspot: str | None = None  # the value to write to HubSpot ("" clears); None: no write
    base: Base | None = None  # the values both sides hold once the writes are done
    conflict: Conflict | None = None

    @property
    def writes(self) -> bool:
        return self.to_salesforce is not None or self.to_hubspot is not None


def as_hubspot(value: object) -> str:
    """A Salesforce value as HubSpot takes it: text as written, booleans ``true``/``false``,
    numbers without a trailing ``.0``, nothing as ``""`` (which clears the property)."""
    if isinstance(value, str):
        return value.strip()
    return canonical(value)


def as_salesforce(value: object) -> str:
    """A HubSpot value (always text) as it is sent: stripped; ``""`` clears the field."""
    return "" if value is None else str(value).strip()


def decide(
    rule: str,
    *,
    base: Base | None,
    hubspot: object,
    salesforce: object,
    salesforce_known: bool = True,
    hubspot_at: datetime | None = None,
    salesforce_at: datetime | None = None,
    first_sync: bool = False,
    first_sync_winner: str | None = None,
) -> Decision:
    """What to write for one mapped field, from each side's current value (as read: HubSpot's
    text, Salesforce's typed JSON). ``salesforce_known`` False: the record's value was never
    read, so nothing is decided against it. ``first_sync_winner``: on a first sync, the side
    whose value wins where both hold one (the side that starts the sync: HubSpot for the push
    and a resync, Salesforce for the Salesforce pull); None: the more recent. The values written
    are as read from the other side; comparisons and bases use ``canonical`` spellings."""
    h = canonical(hubspot)
    s = canonical(salesforce) if salesforce_known else None
    outcome = _outcome(
        rule,
        base,
        h,
        s,
        first_sync=first_sync,
        hubspot_at=hubspot_at,
        salesforce_at=salesforce_at,
        first_sync_winner=first_sync_winner,
    )
    kind, new_base, conflict = outcome
    if kind == TO_SALESFORCE:
        return Decision(to_salesforce=as_salesforce(hubspot), base=new_base, conflict=conflict)
    if kind == TO_HUBSPOT:
        return Decision(to_hubspot=as_hubspot(salesforce), base=new_base, conflict=conflict)
    if kind == CLEAR_HUBSPOT:
        return Decision(to_hubspot="", base=new_base, conflict=conflict)
    return Decision(base=new_base, conflict=conflict)


TO_SALESFORCE, TO_HUBSPOT, CLEAR_HUBSPOT, NOTHING = "to_salesforce", "to_hubspot", "clear_hubspot", "nothing"
Outcome = tuple[str, "Base | None", "Conflict | None"]


def _outcome(
    rule: str,
    base: Base | None,
    h: str,
    s: str | None,
    *,
    first_sync: bool,
    hubspot_at: datetime | None,
    salesforce_at: datetime | None,
    first_sync_winner: str | None = None,
) -> Outcome:
    if rule == DONT_SYNC:
        # Nothing passes; the values as they are become the base, so that a later rule sends only
        # what is edited from then on (never an edit made while the field did not sync).
        return NOTHING, Base(h, s if s is not None else base.salesforce if base else None), None
    if rule not in RULES:
        raise ValueError(f"unknown sync rule {rule!r}")
    if base is None and not first_sync:
        # A mapping added after the contact synced: not retroactive.
        return NOTHING, Base(h, s), None
    if s is None:
        # The record's value was never read: HubSpot's own change still goes under Two-way, never
        # a blank (it could erase a value we cannot see); nothing else can be decided.
        if rule == TWO_WAY and h and (base is None or h != base.hubspot):
            return TO_SALESFORCE, Base(h, h), None
        return NOTHING, Base(h, base.salesforce if base else None), None
    if base is not None and h == base.hubspot and s == base.salesforce:
        # Neither side changed the field since they last agreed (maybe to differ, as a new
        # mapping's values do): nothing to do.
        return NOTHING, base, None
    if rule == TWO_WAY:
        return _two_way(base, h, s, hubspot_at, salesforce_at, first_sync_winner)
    return _from_salesforce(base, h, s, fill_blank_salesforce=rule == PREFER_SALESFORCE)


def _two_way(
    base: Base | None,
    h: str,
    s: str,
    hubspot_at: datetime | None,
    salesforce_at: datetime | None,
    first_sync_winner: str | None,
) -> Outcome:
    if h == s:
        return NOTHING, Base(h, s), None
    hubspot_changed = base is None or h != base.hubspot
    salesforce_changed = base is None or s != base.salesforce
    if hubspot_changed and not salesforce_changed:
        return TO_SALESFORCE, Base(h, h), None
    if salesforce_changed and not hubspot_changed:
        return TO_HUBSPOT, Base(s, s), None
    if base is None and not (h and s):
        # First sync, one side blank: fill it (nothing was deleted, nothing is erased).
        return (TO_SALESFORCE, Base(h, h), None) if h else (TO_HUBSPOT, Base(s, s), None)
    if base is None and first_sync_winner is not None:
        winner = first_sync_winner
    else:
        winner = HUBSPOT if _later(hubspot_at, salesforce_at) else SALESFORCE
    conflict = Conflict(h, hubspot_at, s, salesforce_at, winner) if base is not None else None
    if winner == HUBSPOT:
        return TO_SALESFORCE, Base(h, h), conflict
    return TO_HUBSPOT, Base(s, s), conflict


def _later(hubspot_at: datetime | None, salesforce_at: datetime | None) -> bool:
    """Whether HubSpot's change is the more recent. Equal times, or no time to compare:
    Salesforce wins (a known time beats an unknown one)."""
    if hubspot_at is None:
        return False
    if salesforce_at is None:
        return True
    return hubspot_at > salesforce_at


def _from_salesforce(base: Base | None, h: str, s: str, *, fill_blank_salesforce: bool) -> Outcome:
    """Prefer Salesforce unless blank (``fill_blank_salesforce``) and Always use Salesforce."""
    if s:
        # A value in Salesforce always overwrites HubSpot's.
        return (TO_HUBSPOT, Base(s, s), None) if s != h else (NOTHING, Base(h, s), None)
    if base is not None and base.salesforce:
        # Deleted in Salesforce: deleted in HubSpot (not filled again from HubSpot).
        return (CLEAR_HUBSPOT, Base("", ""), None) if h else (NOTHING, Base("", ""), None)
    if fill_blank_salesforce and h:
        return TO_SALESFORCE, Base(h, h), None
    return NOTHING, Base(h, s), None
