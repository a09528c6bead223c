"""Admin pages of the connected app (the Salesforce settings page)."""

from django.urls import path  # noqa: F401

app_name = "integration"
urlpatterns: list = []
