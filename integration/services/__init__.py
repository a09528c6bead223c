"""Writes to the connected app's settings, connections and field mappings; each audited in the
same transaction as the change (``SettingChange``).

- :mod:`.settings`: the sync settings, the inclusion list.
- :mod:`.connections`: a connection's settings (secrets write-only), test, connect, disconnect,
  the built-in sandbox, and the redaction of secrets from anything shown or logged.
- :mod:`.oauth`: the OAuth web-server handshakes of Salesforce and HubSpot.
- :mod:`.mappings`: field mappings.
"""

from integration.services.connections import (
    ConnectionTestResult,
    connection_update,
    hubspot_connect,
    hubspot_connection_test,
    hubspot_disconnect,
    hubspot_use_sandbox,
    redact,
    salesforce_connect,
    salesforce_connection_test,
    salesforce_disconnect,
    salesforce_use_sandbox,
    secrets_cleared,
)
from integration.services.mappings import field_mapping_delete, field_mapping_save
from integration.services.oauth import (
    ConnectError,
    hubspot_authorize_url,
    hubspot_oauth_callback,
    new_oauth_state,
    oauth_error_message,
    salesforce_authorize_url,
    salesforce_oauth_callback,
)
from integration.services.settings import inclusion_list_set, sync_settings_update

__all__ = [
    "ConnectError",
    "ConnectionTestResult",
    "connection_update",
    "field_mapping_delete",
    "field_mapping_save",
    "hubspot_authorize_url",
    "hubspot_connect",
    "hubspot_connection_test",
    "hubspot_disconnect",
    "hubspot_oauth_callback",
    "hubspot_use_sandbox",
    "inclusion_list_set",
    "new_oauth_state",
    "oauth_error_message",
    "redact",
    "salesforce_authorize_url",
    "salesforce_connect",
    "salesforce_connection_test",
    "salesforce_disconnect",
    "salesforce_oauth_callback",
    "salesforce_use_sandbox",
    "secrets_cleared",
    "sync_settings_update",
]
