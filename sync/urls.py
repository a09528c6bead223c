"""Admin pages of the sync (health, ops views)."""

from django.urls import path  # noqa: F401

app_name = "sync"
urlpatterns: list = []
