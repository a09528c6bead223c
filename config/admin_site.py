"""The project's admin site: ``django.contrib.admin.site`` is an instance of ``GateAdminSite``
(``config.apps.GateAdminConfig``), so every app registers its ModelAdmins here as usual.

What it changes in Django's admin, for every model whoever registered it:

- login and "Change password" check a password only after reserving an attempt
  (config/throttle.py);
- a user who may not see a model gets the same answer for an object that exists and for one
  that does not: ``history_view`` looks the object up before asking about permission, so a
  missing id redirected (302, "doesn't exist") where an existing one was refused (403), which
  told anyone with a staff login which ids exist.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from config.throttle import ThrottledAdminAuthenticationForm, ThrottledPasswordChangeForm


class SameRefusalForMissingObjects:
    """Mixed into every ModelAdmin of the site: permission first, then the object."""

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None) -> HttpResponse:
        # The model-level check Django's change and delete views make before their lookup.
        if not self.has_view_or_change_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)  # type: ignore[misc]


class ThrottledPasswordChangeView(PasswordChangeView):
    form_class = ThrottledPasswordChangeForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}


class GateAdminSite(admin.AdminSite):
    site_header = _("HubSpot → Salesforce inclusion-list sync")
    site_title = _("Inclusion-list sync")
    index_title = _("Administration")
    # Says why a username locked by too many failed logins is refused.
    login_form = ThrottledAdminAuthenticationForm

    def register(self, model_or_iterable: Any, admin_class: type | None = None, **options: Any) -> None:
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, SameRefusalForMissingObjects):
            admin_class = type(
                admin_class.__name__,
                (SameRefusalForMissingObjects, admin_class),
                {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__},
            )
        super().register(model_or_iterable, admin_class, **options)

    def password_change(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """Django's own view and template, with the throttled form."""
        request.current_app = self.name
        return ThrottledPasswordChangeView.as_view(
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
            **({"template_name": self.password_change_template} if self.password_change_template else {}),
        )(request)
