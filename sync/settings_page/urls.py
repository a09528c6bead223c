"""URLs of the connected app's pages: "Connected apps" and the Salesforce settings page.

Included at ``admin/integration/`` before the admin's own URLs, so ``admin/integration/``
itself (the app's index, where the admin's "Connected apps" heading links) is the
connected-apps page; every other path falls through to the generated admin. The namespace is
``integration``, after the URLs (the public contract), not after the package serving them.
"""

from django.contrib import admin
from django.urls import URLPattern, path

from sync.settings_page import connections, imports, limit_syncs, mappings, page

app_name = "integration"


def _page(route: str, view) -> URLPattern:
    # Staff login, CSRF and never-cache, exactly as the admin's own pages; named after the view.
    return path(route, admin.site.admin_view(view), name=view.__name__)


urlpatterns = [
    _page("", page.connected_apps),
    _page("salesforce/settings/", page.salesforce_settings),
    _page("salesforce/settings/inclusion-list/", limit_syncs.inclusion_list_save),
    _page("salesforce/settings/impact/", limit_syncs.switch_impact),
    _page("salesforce/settings/impacts/", limit_syncs.switch_impacts),
    _page("salesforce/settings/resync/", limit_syncs.resync),
    _page("salesforce/settings/sync/<str:side>/", limit_syncs.sync_settings_save),
    _page("salesforce/settings/import/", imports.salesforce_import),
    _page("salesforce/settings/connection/", connections.salesforce_connection_save),
    _page("salesforce/settings/connection/action/", connections.salesforce_connection_action),
    _page("salesforce/oauth/callback/", connections.salesforce_oauth_callback),
    _page("hubspot/settings/connection/", connections.hubspot_connection_save),
    _page("hubspot/settings/connection/action/", connections.hubspot_connection_action),
    _page("hubspot/oauth/callback/", connections.hubspot_oauth_callback),
    _page("salesforce/settings/mappings/", mappings.mapping_add),
    _page("salesforce/settings/mappings/<int:pk>/", mappings.mapping_change),
]
