"""List filters of the lists admin's pages."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from lists.models import ContactList


class InclusionListFilter(admin.SimpleListFilter):
    """Contacts that are members of one list (``?in_list=<id>``, the "See the members" link)."""

    title = _("in list")
    parameter_name = "in_list"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(str(pk), name) for pk, name in ContactList.objects.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(memberships__contact_list_id=int(value))
        return queryset


class OriginFilter(admin.SimpleListFilter):
    """Where a list was made: in HubSpot (mirrored here) or here."""

    title = _("made in")
    parameter_name = "origin"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("hubspot", _("HubSpot")), ("here", _("Here"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        mirrored = queryset.exclude(hubspot_list_id="").filter(hubspot_published=False)
        if self.value() == "hubspot":
            return mirrored
        if self.value() == "here":
            return queryset.exclude(pk__in=mirrored.values("pk"))
        return queryset
