"""The sync's admin: the per-record sync log (``SyncRecord``) and read-only views of runs, the
queue, synced state, watermarks and alerts. Split as Django's own admin is: ModelAdmins in
:mod:`.log` and :mod:`.runs`, list filters in :mod:`.filters`, the paginator that never counts
the whole log in :mod:`.paginator`, the CSV export in :mod:`.export`, links to Salesforce
records in :mod:`.links`. Importing the package registers the ModelAdmins.
"""

from sync.admin.alerts import AlertChannelAdmin, AlertDeliveryAdmin
from sync.admin.dry_runs import DryRunAdmin
from sync.admin.export import EXPORT_COLUMNS, export_rows
from sync.admin.links import salesforce_id_18, salesforce_instance_url, salesforce_url
from sync.admin.log import SyncRecordAdmin
from sync.admin.paginator import WindowPaginator
from sync.admin.runs import AlertStateAdmin, PendingSyncAdmin, SyncedStateAdmin, SyncRunAdmin, WatermarkAdmin

__all__ = [
    "EXPORT_COLUMNS",
    "AlertChannelAdmin",
    "AlertDeliveryAdmin",
    "AlertStateAdmin",
    "DryRunAdmin",
    "PendingSyncAdmin",
    "SyncRecordAdmin",
    "SyncRunAdmin",
    "SyncedStateAdmin",
    "WatermarkAdmin",
    "WindowPaginator",
    "export_rows",
    "salesforce_id_18",
    "salesforce_instance_url",
    "salesforce_url",
]
