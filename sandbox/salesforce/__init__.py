"""The Salesforce sandbox: REST API v59.0+, sObject Collections, SOQL, Bulk API 2.0 and OAuth.

``make_app(db_path)`` returns the WSGI app, ``reset(db_path)`` empties its state; tests and
benches start it over TLS with :func:`sandbox.salesforce.testing.running_salesforce`.

What it answers (``V`` = ``/services/data/vXX.X``, versions 31.0 to 62.0):

- ``POST /services/oauth2/token``: client_credentials, JWT bearer, refresh_token,
  authorization_code (``GET /services/oauth2/authorize`` hands out codes), password. The bearer
  token ``sandbox`` is always accepted; issued tokens expire (``access_token_ttl_seconds``).
- ``GET /services/data/``, ``V/``, ``V/limits`` (``DailyApiRequests``), ``V/sobjects``.
- ``V/sobjects/Lead|Contact|Account``: create, get, update (204), delete (to the recycle bin),
  ``/describe``, upsert/get/delete by external id or ``Email`` (201 created, 200 updated, 300
  when several records match); ``/deleted/`` and ``/updated/`` (Get Deleted, Get Updated:
  :mod:`.lifecycle.replication`). ``User`` and ``AssignmentRule`` are read only (the org's
  users and its lead assignment rule, :mod:`.org`).
- ``V/composite/sobjects``: create, update, delete, retrieve; ``/Lead/<field>``: upsert. At most
  200 records, ``allOrNone``, results in input order.
- ``V/query`` and ``V/queryAll`` with ``nextRecordsUrl`` paging (2,000 per page, or
  ``Sforce-Query-Options: batchSize=N``), SOQL subset of :mod:`.soql`.
- ``V/jobs/ingest``: Bulk API 2.0 (insert, update, upsert, delete), processed in a background
  thread, result files in a shuffled order.

Leads, Contacts and Accounts have an owner (``OwnerId``: an active User, the integration user by
default). Writes that create or update Leads run the lead assignment rule as Salesforce does
(``Sforce-Auto-Assign``, a Bulk job's ``assignmentRuleId``: :mod:`.assignment`). A converted Lead
is read, never written (``CANNOT_UPDATE_CONVERTED_LEAD``); conversion and merges are in
:mod:`.lifecycle` (commands ``sandbox_convert_lead``, ``sandbox_merge``).

Every call counts against a daily allowance reported in ``Sforce-Limit-Info``; past it,
``REQUEST_LIMIT_EXCEEDED``. Records are validated like Salesforce does (required fields,
lengths, email format, restricted picklists, unknown fields, unique external ids, optional
duplicate rule on email), with Salesforce's error codes and shapes. A field is cleared by a
JSON ``null`` or ``""`` (stored as null) in REST and sObject Collections, by ``#N/A`` in a Bulk
API 2.0 CSV (an empty cell leaves it as it is); clearing a required field fails that record
with ``REQUIRED_FIELD_MISSING``.

The handlers are in :mod:`.app` (one module per API), every record write in :mod:`.records`, the
Bulk API 2.0 jobs in :mod:`.bulk`, the OAuth grants in :mod:`.oauth`, the records
``sandbox_seed`` adds (duplicates of seeded HubSpot contacts by email) in :mod:`.seed`.

State is one SQLite file; queries on Email or on a lower bound of LastModifiedDate narrow to
candidate ids kept in memory (:mod:`.lookups`) instead of paying an index on every write.

Control endpoints (no auth, for tests and demos): ``GET|POST /_sandbox/settings``
(``duplicate_rule``, ``daily_api_max``, ``api_usage_used``, ``query_batch_size``,
``bulk_processing_delay_ms``, ``bulk_shuffle_results``, ``access_token_ttl_seconds``,
``jwt_public_key``, ``oauth_clients``, ``lead_assignment_rule``), ``POST /_sandbox/sessions/expire``
(every issued token becomes invalid), ``POST /_sandbox/users`` and ``PATCH /_sandbox/users/{id}``
(add a user, (de)activate one), ``POST /_sandbox/leads/{id}/convert``, ``POST /_sandbox/merge``,
``/_sandbox/faults`` and ``X-Sandbox-Fault`` (see :mod:`sandbox.faults`), ``POST /_sandbox/reset``
(the org's users and rule come back as seeded), ``GET /_sandbox/status``.
"""

from sandbox.salesforce.app import SalesforceSandbox, make_app, reset

__all__ = ["SalesforceSandbox", "make_app", "reset"]
