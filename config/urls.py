from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog

from config.health import healthz
from config.metrics import metrics
from sync.webhooks import hubspot_webhook

# ``admin.site`` is the project's site, titles and login form included (config/admin_site.py).
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
    # Operations: no session, no login (config/health.py; config/metrics.py asks for METRICS_TOKEN).
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    # The app's own admin pages (settings page, sync health) sit beside the generated ones:
    # listed first, they only match their own paths and the rest falls through to the admin.
    path("admin/integration/", include("sync.settings_page.urls")),
    path("admin/sync/", include("sync.urls")),
    path("admin/", admin.site.urls),
]
