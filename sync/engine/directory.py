"""Finding existing Salesforce records by email, with the fewest API calls.

Two ways to look up N emails: ``IN (...)`` queries (about 300 emails a call, as a query travels
in a GET's URL, per object), or one paged scan of every Lead and Contact with an email (2,000
records a call). The directory counts each object's records once per run (``SELECT COUNT()``,
one call) and picks the cheaper; a scan is kept for the rest of the run, so later batches cost
no lookup call at all. Records the run itself creates need no look-up: the contacts linked to them
are found by email in the database (``Pusher._email_owners``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

from integration.clients.salesforce import EmailMatch, soql_fields
from lists.models import SalesforceObject

EMAILS_PER_QUERY = 300
IDS_PER_QUERY = 500
RECORDS_PER_PAGE = 2000
OBJECTS = tuple(SalesforceObject.values)


class SalesforceDirectory:
    def __init__(self, client, fields_by_object: dict[str, Sequence[str]]) -> None:
        self.client = client
        self.fields_by_object = fields_by_object
        self._counts: dict[str, int] = {}
        self._scanned: dict[str, dict[str, list[EmailMatch]]] = {}

    def _condition(self, object_name: str) -> str:
        return "Email != null" + (" AND IsConverted = false" if object_name == "Lead" else "")

    def _count(self, object_name: str) -> int:
        if object_name not in self._counts:
            self._counts[object_name] = self.client.count(
                f"SELECT COUNT() FROM {object_name} WHERE {self._condition(object_name)}"  # nosec B608  # SOQL (read-only): constant object, alphanumeric ids, mapped field names
            )
        return self._counts[object_name]

    def _scan(self, object_name: str) -> dict[str, list[EmailMatch]]:
        fields = [f for f in self.fields_by_object.get(object_name, ()) if f not in ("Id", "Email", "LastModifiedDate")]
        select = soql_fields(["Id", "Email", "LastModifiedDate", *fields])
        index: dict[str, list[EmailMatch]] = defaultdict(list)
        for record in self.client.query(f"SELECT {select} FROM {object_name} WHERE {self._condition(object_name)}"):  # nosec B608  # SOQL (read-only): constant object, alphanumeric ids, mapped field names
            match = EmailMatch.from_record(object_name, record, fields)
            index[match.email.lower()].append(match)
        return index

    def find(self, emails: Iterable[str]) -> dict[str, list[EmailMatch]]:
        wanted = sorted({e.strip().lower() for e in emails if e and e.strip()})
        found: dict[str, list[EmailMatch]] = defaultdict(list)
        if not wanted:
            return found
        for object_name in OBJECTS:
            if object_name not in self._scanned:
                in_calls = math.ceil(len(wanted) / EMAILS_PER_QUERY)
                # The count is only worth a call when the batch is big enough for a scan to win.
                if in_calls > 2:
                    scan_calls = max(1, math.ceil(self._count(object_name) / RECORDS_PER_PAGE))
                    if scan_calls < in_calls:
                        self._scanned[object_name] = self._scan(object_name)
            if object_name in self._scanned:
                index = self._scanned[object_name]
                for email in wanted:
                    found[email].extend(index.get(email, ()))
            else:
                matches = self.client.find_by_emails(
                    wanted, objects=(object_name,), fields=self.fields_by_object.get(object_name, ())
                )
                for email, items in matches.items():
                    found[email].extend(items)
        return found

    def records(self, object_name: str, ids: Sequence[str]) -> dict[str, dict]:
        """The current mapped fields (and ``LastModifiedDate``) of these records, by id: read
        right before they are updated, so an edit made in Salesforce since the last pull is
        compared, not overwritten. About 500 ids a query (a query travels in a GET's URL)."""
        fields = [f for f in self.fields_by_object.get(object_name, ()) if f not in ("Id", "LastModifiedDate")]
        select = soql_fields(["Id", "LastModifiedDate", *fields])
        found: dict[str, dict] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), IDS_PER_QUERY):
            chunk = ", ".join(
                f"'{record_id}'" for record_id in unique[start : start + IDS_PER_QUERY] if record_id.isalnum()
            )
            if not chunk:
                continue
            for record in self.client.query(f"SELECT {select} FROM {object_name} WHERE Id IN ({chunk})"):  # nosec B608  # SOQL (read-only): constant object, alphanumeric ids, mapped field names
                found[record["Id"]] = {k: v for k, v in record.items() if k != "attributes"}
                # Salesforce answers with 18-character ids; the contact may hold the 15-character one.
                found.setdefault(record["Id"][:15], found[record["Id"]])
        return found
