from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog

from config.throttle import ThrottledAdminAuthenticationForm
from sync.webhooks import hubspot_webhook

# Says why a username locked by too many failed logins is refused (config/throttle.py).
admin.site.login_form = ThrottledAdminAuthenticationForm
admin.site.site_header = _("HubSpot → Salesforce inclusion-list sync")
admin.site.site_title = _("Inclusion-list sync")
admin.site.index_title = _("Administration")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("i18n/", include("django.conf.urls.i18n")),
    # Every string the admin's scripts show, for gettext() in JavaScript (the djangojs catalog).
    path(
        "jsi18n/",
        admin.site.admin_view(JavaScriptCatalog.as_view(packages=["lists", "integration", "sync"])),
        name="javascript-catalog",
    ),
    path("webhooks/hubspot/", hubspot_webhook, name="hubspot_webhook"),
    # The app's own admin pages (settings page, sync health) sit beside the generated ones:
    # listed first, they only match their own paths and the rest falls through to the admin.
    path("admin/integration/", include("sync.settings_page.urls")),
    path("admin/sync/", include("sync.urls")),
    path("admin/", admin.site.urls),
]
