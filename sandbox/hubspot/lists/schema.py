"""The lists' tables, part of the HubSpot store's schema (``HubSpotStore.SCHEMA``), emptied by its
``reset()`` (``LIST_TABLES``).

=======================  ========================================================================
table                    holds
=======================  ========================================================================
``contact_list``         one row per list, deleted ones too (``deleted_ms``; HubSpot restores them
                         for 90 days), never purged, so a list id is never given twice until a
                         reset. ``filter_branch`` is the stored (normalised) definition, ``size``
                         the member count kept with every membership write, ``process_at_ms``
                         when a pending processing completes, ``hold`` a test's freeze
``contact_list_member``  ``(list_id, contact_id, added_ms)``, ``added_ms`` the last time it joined
``contact_list_ref``     ``(list_id, ref_list_id)``: the IN_LIST filters of each definition
``contact_list_queue``   contacts changed since the lists last looked (``contact_id``)
``contact_list_setting`` ``name -> value`` (``processing_ms``)
=======================  ========================================================================

The two triggers queue a contact on every insert and update of the ``contact`` table while a live
DYNAMIC list exists (and on every archive, which empties the contact's memberships of every list):
the API's writes, ``bulk_insert`` and another process serving or seeding the same file alike, with
no code on those paths. The queue is drained by :mod:`.engine` before the lists are read.
"""

from __future__ import annotations

LIST_SCHEMA = """
CREATE TABLE IF NOT EXISTS contact_list (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    processing_type TEXT NOT NULL,
    filter_branch TEXT,
    evaluable INTEGER NOT NULL DEFAULT 0,
    time_relative INTEGER NOT NULL DEFAULT 0,
    list_version INTEGER NOT NULL DEFAULT 1,
    processing_status TEXT NOT NULL,
    process_at_ms INTEGER,
    hold INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    filters_updated_ms INTEGER NOT NULL,
    evaluated_ms INTEGER,
    last_added_ms INTEGER,
    last_removed_ms INTEGER,
    deleted_ms INTEGER,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS contact_list_by_name ON contact_list (name_key);
CREATE TABLE IF NOT EXISTS contact_list_member (
    list_id INTEGER NOT NULL,
    contact_id INTEGER NOT NULL,
    added_ms INTEGER NOT NULL,
    PRIMARY KEY (list_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS contact_list_member_by_contact ON contact_list_member (contact_id, list_id);
CREATE INDEX IF NOT EXISTS contact_list_member_by_join ON contact_list_member (list_id, added_ms, contact_id);
CREATE TABLE IF NOT EXISTS contact_list_ref (
    list_id INTEGER NOT NULL,
    ref_list_id INTEGER NOT NULL,
    PRIMARY KEY (list_id, ref_list_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS contact_list_ref_by_ref ON contact_list_ref (ref_list_id, list_id);
CREATE TABLE IF NOT EXISTS contact_list_queue (contact_id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS contact_list_setting (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS contact_list_queue_on_insert AFTER INSERT ON contact
WHEN EXISTS (SELECT 1 FROM contact_list WHERE processing_type = 'DYNAMIC' AND deleted_ms IS NULL)
BEGIN
    INSERT OR IGNORE INTO contact_list_queue (contact_id) VALUES (NEW.id);
END;
CREATE TRIGGER IF NOT EXISTS contact_list_queue_on_update AFTER UPDATE ON contact
WHEN NEW.archived != OLD.archived
    OR EXISTS (SELECT 1 FROM contact_list WHERE processing_type = 'DYNAMIC' AND deleted_ms IS NULL)
BEGIN
    INSERT OR IGNORE INTO contact_list_queue (contact_id) VALUES (NEW.id);
END;
"""

LIST_TABLES = (
    "contact_list",
    "contact_list_member",
    "contact_list_ref",
    "contact_list_queue",
    "contact_list_setting",
)
