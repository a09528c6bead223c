"""What Salesforce's own lifecycle needs read: deleted and merged records, converted Leads, the
org's users (owners) and its lead assignment rule.

- Deletions: the Get Deleted resource (``/sobjects/{object}/deleted/?start=&end=``), which
  answers for the last 30 days only ("Get Deleted Records Within a Given Timeframe",
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm),
  then ``queryAll`` for ``MasterRecordId``: a record deleted by a merge names the survivor.
- Conversions: ``IsConverted``, ``ConvertedContactId`` of Leads.
- Owners: ``User`` (``Id``, ``Email``, ``IsActive``).
- Assignment: the active ``AssignmentRule`` of Leads, whose id a Bulk API 2.0 job needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from integration.clients.salesforce.rest import RestApi
from integration.clients.salesforce.soql import soql_identifier, soql_quote

# Salesforce keeps deleted records queryable for 30 days: an older start is refused.
DELETED_WINDOW = timedelta(days=30)
IDS_PER_QUERY = 500


@dataclass(frozen=True)
class DeletedRecord:
    id: str
    deleted_at: str
    # The record that survived a merge (``MasterRecordId``); blank for a plain deletion.
    master_id: str = ""


@dataclass(frozen=True)
class SalesforceUser:
    id: str
    email: str
    active: bool


def _id_chunks(ids: Sequence[str]) -> Iterator[str]:
    unique = [i for i in dict.fromkeys(ids) if i.isalnum()]
    for start in range(0, len(unique), IDS_PER_QUERY):
        yield ", ".join(soql_quote(i) for i in unique[start : start + IDS_PER_QUERY])


class LifecycleApi(RestApi):
    def deleted(self, object_name: str, start: datetime, end: datetime) -> list[DeletedRecord]:
        """Records of ``object_name`` deleted between ``start`` and ``end`` (``start`` no older
        than 30 days: an older one is moved up, what was deleted before is no longer known), with
        the survivor of each merge."""
        earliest = datetime.now(UTC) - DELETED_WINDOW + timedelta(minutes=1)
        start = max(start, earliest)
        if end <= start:
            return []
        answer = self._call(lambda sf: getattr(sf, object_name).deleted(start, end))
        found = [
            DeletedRecord(str(item["id"]), str(item.get("deletedDate") or ""))
            for item in (answer or {}).get("deletedRecords") or []
        ]
        if not found:
            return []
        masters = self.master_records(object_name, [d.id for d in found])
        return [DeletedRecord(d.id, d.deleted_at, masters.get(d.id, "")) for d in found]

    def master_records(self, object_name: str, ids: Sequence[str]) -> dict[str, str]:
        """``{deleted id: MasterRecordId}`` for the records of ``ids`` a merge deleted."""
        masters: dict[str, str] = {}
        for chunk in _id_chunks(ids):
            soql = f"SELECT Id, MasterRecordId FROM {soql_identifier(object_name)} WHERE Id IN ({chunk}) AND IsDeleted = true"  # nosec B608  # object name checked, ids alphanumeric and quoted
            for record in self.query(soql, include_deleted=True):
                if record.get("MasterRecordId"):
                    masters[record["Id"]] = record["MasterRecordId"]
                    masters[record["Id"][:15]] = record["MasterRecordId"]
        return masters

    def converted_leads(self, ids: Sequence[str]) -> dict[str, str]:
        """``{lead id: ConvertedContactId}`` for the converted Leads among ``ids`` (15- and
        18-character ids both answer)."""
        converted: dict[str, str] = {}
        for chunk in _id_chunks(ids):
            soql = f"SELECT Id, ConvertedContactId FROM Lead WHERE Id IN ({chunk}) AND IsConverted = true"  # nosec B608  # ids alphanumeric and quoted
            for record in self.query(soql):
                if record.get("ConvertedContactId"):
                    converted[record["Id"]] = converted[record["Id"][:15]] = record["ConvertedContactId"]
        return converted

    def converted_leads_by_key(self, field: str, values: Sequence[str]) -> dict[str, str]:
        """``{external id: ConvertedContactId}`` for converted Leads found by an external-id field."""
        converted: dict[str, str] = {}
        unique = list(dict.fromkeys(values))
        for start in range(0, len(unique), IDS_PER_QUERY):
            in_list = ", ".join(soql_quote(v) for v in unique[start : start + IDS_PER_QUERY])
            field = soql_identifier(field)
            soql = f"SELECT {field}, ConvertedContactId FROM Lead WHERE {field} IN ({in_list}) AND IsConverted = true"  # nosec B608  # field name checked, values quoted
            for record in self.query(soql):
                if record.get("ConvertedContactId"):
                    converted[str(record[field])] = record["ConvertedContactId"]
        return converted

    def users(self) -> list[SalesforceUser]:
        """The org's users (active or not): the owners records can have."""
        return [
            SalesforceUser(str(r["Id"]), str(r.get("Email") or ""), bool(r.get("IsActive")))
            for r in self.query("SELECT Id, Email, IsActive FROM User")
        ]

    def lead_assignment_rule_id(self) -> str | None:
        """The org's active lead assignment rule (one at most is active), or ``None``."""
        soql = "SELECT Id FROM AssignmentRule WHERE SobjectType = 'Lead' AND Active = true LIMIT 1"
        for record in self.query(soql):
            return str(record["Id"])
        return None
