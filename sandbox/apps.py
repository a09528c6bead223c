from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxConfig(AppConfig):
    """The emulators' management commands. No models: the emulators keep their own SQLite files."""

    name = "sandbox"
    verbose_name = _("Sandbox emulators")
