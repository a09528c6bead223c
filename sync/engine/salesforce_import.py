"""The existing Salesforce Leads and Contacts, brought to HubSpot as new ones are.

The seed article's setting covers "new *and existing*" Salesforce leads/contacts: the Salesforce
pull starts from the moment the app connects, so the records from before come through this
import. Each record goes through the pull's own handling (``SalesforcePull.handle``): a HubSpot
contact is created, or found by email (HubSpot's batch upsert by email), whatever the inclusion
list says; a contact already linked is only compared, as by any pull.

Read by keyset pages (``WHERE Id > :last ORDER BY Id LIMIT 2000``: Salesforce allocates ids in
increasing order), handled 100 at a time (HubSpot's batch size). The last Id handled is kept
(``Watermark.cursor``) after each batch: a killed import goes on from there when run again,
and a batch redone after a kill finds its contacts by email, never duplicates them. A finished
import starts from the first record when run again (records added while the sync was off).
Converted Leads are left out: their Contact carries them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone

from integration.clients.salesforce import soql_fields, soql_quote
from lists.models import SalesforceObject
from sync.engine.salesforce_pull import BATCH, SalesforcePull, SalesforcePullResult
from sync.models import SyncRun, Watermark

PAGE = 2000
SOURCES = {
    SalesforceObject.LEAD: Watermark.Source.SALESFORCE_LEAD_IMPORT,
    SalesforceObject.CONTACT: Watermark.Source.SALESFORCE_CONTACT_IMPORT,
}


def _condition(salesforce_object: str, after: str) -> str:
    parts = ["Email != null"]
    if salesforce_object == SalesforceObject.LEAD:
        parts.append("IsConverted = false")
    if after:
        parts.append(f"Id > {soql_quote(after)}")
    return " AND ".join(parts)


class SalesforceImport:
    def __init__(
        self, *, run: SyncRun, salesforce, hubspot, on_progress: Callable[[int, int], None] | None = None
    ) -> None:
        """``on_progress(done, total)``: called after each batch."""
        self.salesforce = salesforce
        self.pull = SalesforcePull(run=run, salesforce=salesforce, hubspot=hubspot)
        self.on_progress = on_progress
        self.done = 0
        self.total = 0

    def run_all(self) -> SalesforcePullResult:
        marks, counts = {}, {}
        for salesforce_object, source in SOURCES.items():
            mark, _created = Watermark.objects.get_or_create(source=source)
            if mark.value is not None:
                # Finished before: this run imports from the first record again.
                mark.value, mark.cursor = None, ""
                mark.save(update_fields=["value", "cursor", "updated_at"])
            marks[salesforce_object] = mark
            counts[salesforce_object] = self.salesforce.count(
                f"SELECT COUNT() FROM {salesforce_object} WHERE {_condition(salesforce_object, mark.cursor)}"  # nosec B608  # SOQL (read-only): constant object, soql_quote'd cursor, mapped field names
            )
        self.total = sum(counts.values())
        self._progress()
        for salesforce_object, mark in marks.items():
            self._import(salesforce_object, mark, counts[salesforce_object])
        return self.pull.result

    def _import(self, salesforce_object: str, mark: Watermark, count: int) -> None:
        """``count``: the records there were to import when it started (a full last page with
        nothing after it costs no further query; records added since come on the next run)."""
        fields = soql_fields(self.pull.fields_for(salesforce_object))
        read = 0
        while read < count:
            soql = (
                f"SELECT {fields} FROM {salesforce_object} WHERE {_condition(salesforce_object, mark.cursor)} "  # nosec B608  # SOQL (read-only): constant object, soql_quote'd cursor, mapped field names
                f"ORDER BY Id ASC LIMIT {PAGE}"
            )
            page = list(self.salesforce.query(soql))
            read += len(page)
            for start in range(0, len(page), BATCH):
                batch = page[start : start + BATCH]
                self.pull.handle(salesforce_object, batch)
                mark.cursor = batch[-1]["Id"]
                mark.save(update_fields=["cursor", "updated_at"])
                self.done += len(batch)
                self._progress()
            if len(page) < PAGE:
                break
        mark.value = timezone.now()
        mark.save(update_fields=["value", "updated_at"])

    def _progress(self) -> None:
        if self.on_progress:
            self.on_progress(self.done, self.total)
