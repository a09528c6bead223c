"""Record writes with Salesforce's validation and per-record results.

Every write path (REST sObject, sObject Collections, Bulk API 2.0) goes through ``RecordService``
so a record refused by one is refused by all, with the same ``errorCode`` and message.
Writes are planned first (validation, key lookups, duplicate checks) and applied in one SQLite
transaction with ``executemany``, which is what keeps 100,000 upserts cheap. On that path a plain
valid value takes a per-field shortcut (``Field.fast_value``, held equal to the full validation
by a property test); an update leaves out the fields it would set to what they already hold.

The usual upsert (JSON, every record setting the same fields to plain valid values, or
clearing optional ones) skips the per-record planning: it is checked and written a column at a
time, and any other batch goes to the record-by-record path (a property test holds the two
equal). Lookups by Email and LastModifiedDate use the store's in-memory candidate maps
(``lookups``), not indexes.

- :mod:`.service`: ``RecordService`` (reads, create, update, upsert, delete);
- :mod:`.values`: one record's values: coercion, field checks, required fields, defaults;
- :mod:`.plans`: planned writes checked (unique values, duplicate rule) and applied;
- :mod:`.uniform`: the usual upsert, a column at a time;
- :mod:`.results`: ``RecordResult``/``RecordError`` in Salesforce's shapes, ``RequestError``.
"""

from sandbox.salesforce.records.plans import ALLOW_DUPLICATE_SAVE
from sandbox.salesforce.records.results import (
    ROLLED_BACK_MESSAGE,
    RecordError,
    RecordResult,
    RequestError,
    roll_back_all,
    save_results_json,
)
from sandbox.salesforce.records.service import RecordService
from sandbox.salesforce.records.values import check_value, coerce, row_to_record

__all__ = [
    "ALLOW_DUPLICATE_SAVE",
    "ROLLED_BACK_MESSAGE",
    "RecordError",
    "RecordResult",
    "RecordService",
    "RequestError",
    "check_value",
    "coerce",
    "roll_back_all",
    "row_to_record",
    "save_results_json",
]
