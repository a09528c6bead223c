"""Admin pages of the connected app: "Connected apps" and the Salesforce settings page.

Included at ``admin/integration/`` before the admin's own URLs, so ``admin/integration/``
itself (the app's index, where the admin's "Connected apps" heading links) is the
connected-apps page; every other path falls through to the generated admin.
"""

from django.contrib import admin
from django.urls import path

from integration import views

app_name = "integration"


def _admin(view):
    # Staff login, CSRF and never-cache, exactly as the admin's own pages.
    return admin.site.admin_view(view)


urlpatterns = [
    path("", _admin(views.connected_apps), name="connected_apps"),
    path("salesforce/settings/", _admin(views.salesforce_settings), name="salesforce_settings"),
    path("salesforce/settings/inclusion-list/", _admin(views.inclusion_list_save), name="inclusion_list_save"),
    path("salesforce/settings/impact/", _admin(views.switch_impact), name="switch_impact"),
    path("salesforce/settings/impacts/", _admin(views.switch_impacts), name="switch_impacts"),
    path("salesforce/settings/resync/", _admin(views.resync), name="resync"),
    path("salesforce/settings/runs/<int:pk>/progress/", _admin(views.run_progress), name="run_progress"),
    path("salesforce/settings/sync/<str:side>/", _admin(views.sync_settings_save), name="sync_settings_save"),
    path(
        "salesforce/settings/connection/", _admin(views.salesforce_connection_save), name="salesforce_connection_save"
    ),
    path(
        "salesforce/settings/connection/action/",
        _admin(views.salesforce_connection_action),
        name="salesforce_connection_action",
    ),
    path("salesforce/oauth/callback/", _admin(views.salesforce_oauth_callback), name="salesforce_oauth_callback"),
    path("hubspot/settings/connection/", _admin(views.hubspot_connection_save), name="hubspot_connection_save"),
    path(
        "hubspot/settings/connection/action/", _admin(views.hubspot_connection_action), name="hubspot_connection_action"
    ),
    path("hubspot/oauth/callback/", _admin(views.hubspot_oauth_callback), name="hubspot_oauth_callback"),
    path("salesforce/settings/mappings/", _admin(views.mapping_add), name="mapping_add"),
    path("salesforce/settings/mappings/<int:pk>/", _admin(views.mapping_change), name="mapping_change"),
]
