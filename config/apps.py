"""The project's own app (the models of config/, such as the login attempts) and the admin
running on the project's site."""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class ConfigConfig(AppConfig):
    name = "config"
    verbose_name = _("Project")
    default_auto_field = "django.db.models.BigAutoField"


class GateAdminConfig(AdminConfig):
    """Django's admin, whose ``admin.site`` is :class:`config.admin_site.GateAdminSite`."""

    default = False
    default_site = "config.admin_site.GateAdminSite"
