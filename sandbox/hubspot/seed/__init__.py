"""Deterministic, realistic synthetic contacts for the HubSpot sandbox (``sandbox_seed``).

``seed_contacts(store, count=N, seed=S, anchor=date)`` makes sure the first ``N`` contacts of
seed ``S`` exist: it remembers per seed how many were written, so re-running is idempotent and
a larger ``N`` adds only the missing ones. Contact ``i`` of seed ``S`` is drawn from its own
``random.Random(S * 1_000_000_007 + i)``: the same seed always gives the same people whatever else the
store holds (but for an email another contact holds already, below). Dates (``createdate``,
``last_event_date``, ``trial_started_at``) are relative to ``anchor`` (default: today, UTC) so a
demo always has recent activity; pass a fixed anchor for identical output on any day.
``lastmodifieddate`` is the time of seeding, spread at ten contacts per millisecond, as a real
import would stamp them, so incremental pulls see them.

Rows are written straight into the store in one transaction (100,000 contacts take a few
seconds; through the batch API they would take a thousand calls), yet only in states HubSpot's
API allows: an email is unique among the contacts not archived, ignoring case (HubSpot answers
a second one with a 409 ``CONFLICT``, "Contacts" API guide:
https://developers.hubspot.com/docs/api/crm/contacts). Contact ``i``'s email holds ``i``, so
the contacts of one seed never clash; one whose email another contact already holds (made
through the API, or by another seed in the same store) gets the seed as a ``+s<seed>`` tag
(or, taken too, no email). The deliberate oddities are values HubSpot accepts and Salesforce
refuses, or that the sync must skip:

- ``i % 50 == 7``: no last name (Salesforce: REQUIRED_FIELD_MISSING);
- ``i % 50 == 19``: a malformed email HubSpot's lenient check lets through but Salesforce
  refuses (double dot, no top-level domain, trailing dot): INVALID_EMAIL_ADDRESS;
- ``i % 100 == 31``: a last name over 80 characters; ``i % 100 == 43``: a company name over
  255 characters; ``i % 100 == 61``: a city over 40 characters (STRING_TOO_LONG);
- ``i % 100 == 83``: no email at all (HubSpot allows it; the sync never sends such a contact).

Duplicates by email are where real orgs have them, in Salesforce: ``sandbox_seed`` also writes a
few Leads and Contacts there that duplicate seeded contacts (:mod:`sandbox.salesforce.seed`).

:mod:`.contacts` draws and writes the contacts; :mod:`.countries` holds what they are drawn from.
"""

from sandbox.hubspot.seed.contacts import make_contact, seed_contacts

__all__ = ["make_contact", "seed_contacts"]
