"""The REST API of Salesforce: ``RestApi`` adds to the session the calls made record by record
or in small sets.

- Writes: sObject Collections in chunks of 200 (``allOrNone=false``), one result per record in
  input order; ``upsert`` of one record by external id. A field given ``None`` or ``""`` is
  cleared: it is sent as JSON ``null`` (``rest_values``).
- Reads: lookups by email in SOQL chunks that stay under the URI length limit
  (``MAX_QUERY_URI_CHARS``), paged queries following ``nextRecordsUrl``, counts.
- Metadata: ``describe`` and ``limits``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from django.utils.translation import gettext as _

from integration.clients.salesforce.errors import SalesforceError
from integration.clients.salesforce.results import EmailMatch, RecordResult, _save_result
from integration.clients.salesforce.session import SalesforceSession
from integration.clients.salesforce.soql import soql_datetime, soql_fields, soql_identifier, soql_quote

COLLECTION_SIZE = 200
# Salesforce refuses request URIs over 16,384 bytes; SOQL sent by GET must fit with the rest.
MAX_QUERY_URI_CHARS = 15_000

T = TypeVar("T")


def rest_values(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` as a REST body sends it: ``""`` becomes ``None``, sent as JSON ``null``.

    A PATCH changes the fields its body names and no other ("Update a Record",
    https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_update_fields.htm);
    a field named with ``null`` is set to null, REST's counterpart of the SOAP API's
    ``fieldsToNull`` ("Core Data Types Used in API Calls",
    https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm).
    ``null`` clears a field of any type, where ``""`` is stored as null in a text field only (a
    checkbox or a date refuses it): callers mean "clear this field" by either, so both go as
    ``null``. Returns ``record`` itself when it holds no ``""``."""
    if "" not in record.values():
        return record
    return {name: None if value == "" else value for name, value in record.items()}


def assignment_header(auto_assign: bool | None) -> dict[str, str] | None:
    """The ``Sforce-Auto-Assign`` header: without it, REST writes that create or update Leads apply
    the org's active assignment rule ("Assignment Rule Header",
    https://developer.salesforce.com/docs/platform/api-rest/guide/headers-autoassign.md); the
    sync says each time whether it wants it. ``None``: no header."""
    if auto_assign is None:
        return None
    return {"Sforce-Auto-Assign": "TRUE" if auto_assign else "FALSE"}


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class RestApi(SalesforceSession):
    """Collections, single-record upserts, SOQL queries and metadata over the REST API."""

    # -- metadata ---------------------------------------------------------------------------

    def limits(self) -> dict[str, Any]:
        return self._call(lambda sf: sf.limits(timeout=self.timeout))

    def describe(self, object_name: str) -> dict[str, Any]:
        return self._json("GET", f"sobjects/{quote(object_name)}/describe")

    # -- collections ------------------------------------------------------------------------

    def _collection(
        self,
        method: str,
        path: str,
        object_name: str,
        records: Sequence[dict[str, Any]],
        *,
        idempotent: bool,
        auto_assign: bool | None = None,
    ) -> list[RecordResult]:
        results: list[RecordResult] = []
        headers = assignment_header(auto_assign)
        for chunk in _chunks(records, COLLECTION_SIZE):
            body = {
                "allOrNone": False,
                "records": [{"attributes": {"type": object_name}, **rest_values(record)} for record in chunk],
            }
            answer = self._json(method, path, body, idempotent=idempotent, headers=headers) or []
            if len(answer) != len(chunk):
                raise SalesforceError(
                    _("Salesforce answered %(results)s results for %(records)s records.")
                    % {"results": len(answer), "records": len(chunk)}
                )
            results.extend(_save_result(item) for item in answer)
        return results

    def collections_create(
        self, object_name: str, records: Sequence[dict[str, Any]], *, auto_assign: bool | None = None
    ) -> list[RecordResult]:
        """Create records 200 at a time; one result per record, in input order. ``auto_assign``:
        whether Salesforce applies the active assignment rule (``assignment_header``).

        Not retried on a transient failure: the first attempt may have created the records."""
        return self._collection(
            "POST", "composite/sobjects", object_name, records, idempotent=False, auto_assign=auto_assign
        )

    def collections_update(
        self, object_name: str, records: Sequence[dict[str, Any]], *, auto_assign: bool | None = None
    ) -> list[RecordResult]:
        """Update records (each with ``Id``) 200 at a time; results in input order."""
        return self._collection(
            "PATCH", "composite/sobjects", object_name, records, idempotent=True, auto_assign=auto_assign
        )

    def collections_upsert(
        self,
        object_name: str,
        external_id_field: str,
        records: Sequence[dict[str, Any]],
        *,
        auto_assign: bool | None = None,
    ) -> list[RecordResult]:
        """Upsert by an external-id field 200 at a time; results (with ``created``) in input order."""
        path = f"composite/sobjects/{quote(object_name)}/{quote(external_id_field)}"
        return self._collection("PATCH", path, object_name, records, idempotent=True, auto_assign=auto_assign)

    def upsert(self, object_name: str, external_id_field: str, value: str, data: dict[str, Any]) -> RecordResult:
        """Upsert one record by external id (the value is URL-encoded: emails hold ``+`` and ``/``)."""
        path = f"sobjects/{quote(object_name)}/{quote(external_id_field)}/{quote(value, safe='')}"
        answer = self._json("PATCH", path, rest_values(data)) or {}
        return _save_result(answer)

    # -- queries ----------------------------------------------------------------------------

    def query(self, soql: str, *, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
        """Every record of a SOQL query, following ``nextRecordsUrl``; ``attributes`` removed.
        ``include_deleted``: by ``queryAll``, deleted (and merged) records too."""
        page = self._call(lambda sf: sf.query(soql, include_deleted=include_deleted, timeout=self.timeout))
        while True:
            for record in page.get("records", []):
                record.pop("attributes", None)
                yield record
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._call(lambda sf, url=next_url: sf.query_more(url, identifier_is_url=True, timeout=self.timeout))

    def count(self, soql: str) -> int:
        """``totalSize`` of a ``SELECT COUNT() ...`` query (one call)."""
        return int(self._call(lambda sf: sf.query(soql, timeout=self.timeout)).get("totalSize") or 0)

    def _email_chunks(self, prefix: str, emails: Sequence[str]) -> Iterator[list[str]]:
        chunk: list[str] = []
        length = len(quote(prefix))
        for email in emails:
            # The query travels URL-encoded in a GET: measure what will actually be sent.
            cost = len(quote(soql_quote(email), safe="")) + 3
            if chunk and length + cost > MAX_QUERY_URI_CHARS:
                yield chunk
                chunk, length = [], len(quote(prefix))
            chunk.append(email)
            length += cost
        if chunk:
            yield chunk

    def find_by_emails(
        self,
        emails: Iterable[str],
        objects: Sequence[str] = ("Lead", "Contact"),
        fields: Sequence[str] = (),
    ) -> dict[str, list[EmailMatch]]:
        """``{lower-case email: [matches]}`` over Leads (not converted) and Contacts.

        Salesforce compares emails case-insensitively in SOQL, so one lower-case value finds
        ``Jane@X.com`` too. ``fields`` adds values to each match (``EmailMatch.fields``)."""
        wanted = sorted({e.strip().lower() for e in emails if e and e.strip()})
        found: dict[str, list[EmailMatch]] = defaultdict(list)
        if not wanted:
            return found
        for object_name in objects:
            extra = [f for f in fields if f not in ("Id", "Email", "LastModifiedDate")]
            select = soql_fields(["Id", "Email", "LastModifiedDate", *extra])
            object_name = soql_identifier(object_name)
            condition = " AND IsConverted = false" if object_name == "Lead" else ""
            prefix = f"SELECT {select} FROM {object_name} WHERE Email IN ()" + condition  # nosec B608  # names checked by soql_fields/soql_identifier, values quoted
            for chunk in self._email_chunks(prefix, wanted):
                in_list = ", ".join(soql_quote(e) for e in chunk)
                soql = f"SELECT {select} FROM {object_name} WHERE Email IN ({in_list}){condition}"  # nosec B608  # names checked, values quoted by soql_quote
                for record in self.query(soql):
                    match = EmailMatch.from_record(object_name, record, extra)
                    found[match.email.lower()].append(match)
        return found

    def query_modified_since(
        self, object_name: str, since: datetime, fields: Sequence[str]
    ) -> Iterator[dict[str, Any]]:
        """Records of ``object_name`` modified at or after ``since``, oldest first, paged."""
        select = soql_fields(dict.fromkeys(["Id", *fields, "LastModifiedDate"]))
        soql = (
            f"SELECT {select} FROM {soql_identifier(object_name)} "  # nosec B608  # names checked by soql_fields/soql_identifier
            f"WHERE LastModifiedDate >= {soql_datetime(since)} ORDER BY LastModifiedDate ASC, Id ASC"
        )
        return self.query(soql)
