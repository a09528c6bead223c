"""Deterministic, realistic synthetic contacts for the HubSpot sandbox (``sandbox_seed``).

``seed_contacts(store, count=N, seed=S, anchor=date)`` makes sure the first ``N`` contacts of
seed ``S`` exist: it remembers per seed how many were written, so re-running is idempotent and
a larger ``N`` adds only the missing ones. Contact ``i`` of seed ``S`` is drawn from its own
``random.Random(S * 1_000_000_007 + i)``: the same seed always gives the same people whatever else the
store holds. Dates (``createdate``, ``last_event_date``, ``trial_started_at``) are relative to
``anchor`` (default: today, UTC) so a demo always has recent activity; pass a fixed anchor for
identical output on any day. ``lastmodifieddate`` is the time of seeding, spread at ten
contacts per millisecond, as a real import would stamp them, so incremental pulls see them.

Rows are written straight into the store in one transaction (100,000 contacts take a few
seconds; through the batch API they would take a thousand calls). That is also how the
deliberate oddities get in, which Salesforce will refuse or which test de-duplication:

- ``i % 50 == 7``: no last name (Salesforce: REQUIRED_FIELD_MISSING);
- ``i % 50 == 19``: a malformed email HubSpot's lenient check lets through but Salesforce
  refuses (double dot, no top-level domain, trailing dot): INVALID_EMAIL_ADDRESS;
- ``i % 100 == 31``: a last name over 80 characters; ``i % 100 == 43``: a company name over
  255 characters; ``i % 100 == 61``: a city over 40 characters (STRING_TOO_LONG);
- ``i % 100 == 83``: no email at all (HubSpot allows it; the sync never sends such a contact);
- ``i % 100 == 97``: the same person as contact ``i - 1`` with the email in another case.
  HubSpot's API refuses such a duplicate today, but portals hold them from imports and
  integrations that created contacts before de-duplication was case-insensitive; this is
  what de-duplication by case-insensitive email must cope with.

:mod:`.contacts` draws and writes the contacts; :mod:`.countries` holds what they are drawn from.
"""

from sandbox.hubspot.seed.contacts import make_contact, seed_contacts

__all__ = ["make_contact", "seed_contacts"]
