"""Admin pages of the sync (health, ops views), under /admin/sync/ before the generated admin."""

from django.contrib import admin
from django.urls import path

from sync import publish_views, views

app_name = "sync"
urlpatterns = [
    path("lists/<int:pk>/publish/", admin.site.admin_view(publish_views.list_publish_view), name="list_publish"),
    path("health/", admin.site.admin_view(views.health), name="health"),
    path("runs/progress/", admin.site.admin_view(views.run_progress), name="run_progress"),
    path(
        "contacts/<int:contact_id>/timeline/",
        admin.site.admin_view(views.contact_timeline),
        name="contact_timeline",
    ),
]
