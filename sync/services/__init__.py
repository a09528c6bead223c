"""Writes of the sync: runs, the queue, resyncs, cycles. The engine modules (``sync.engine``) do
the work; these services are what views, admin actions, commands and tasks call.

- :mod:`.runs`: start, claim and finish runs; close those whose worker died; publish progress.
- :mod:`.resync`: queue the inclusion list's joins, resync a list, contacts or log records,
  ignore records.
- :mod:`.cycle`: the full gated cycle, the push of a resync run, the HubSpot pull alone.
- :mod:`.clients`: the API clients of one run and the calls it made.
- :mod:`.salesforce_import`: the import of existing Salesforce records, as a run.
- :mod:`.webhooks`: a HubSpot webhook's events, typed; the deletions and merges they report;
  the signatures already received.
"""

from sync.services.clients import RunClients
from sync.services.cycle import AUTOMATIC_TRIGGERS, hubspot_pull, push_pending, sync_cycle
from sync.services.resync import (
    contacts_resync,
    inclusion_joins_enqueue,
    list_resync,
    records_ignore,
    records_resync,
)
from sync.services.runs import Publisher, runs_close_interrupted, sync_run_claim, sync_run_finish, sync_run_start
from sync.services.salesforce_import import ImportRefused, salesforce_import, salesforce_import_run
from sync.services.webhooks import (
    WebhookEvent,
    webhook_event_parse,
    webhook_events_handle,
    webhook_events_parse,
    webhook_signature_remember,
)

__all__ = [
    "AUTOMATIC_TRIGGERS",
    "ImportRefused",
    "Publisher",
    "RunClients",
    "WebhookEvent",
    "contacts_resync",
    "hubspot_pull",
    "inclusion_joins_enqueue",
    "list_resync",
    "push_pending",
    "records_ignore",
    "records_resync",
    "runs_close_interrupted",
    "salesforce_import",
    "salesforce_import_run",
    "sync_cycle",
    "sync_run_claim",
    "sync_run_finish",
    "sync_run_start",
    "webhook_event_parse",
    "webhook_events_handle",
    "webhook_events_parse",
    "webhook_signature_remember",
]
