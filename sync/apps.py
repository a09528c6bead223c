from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _schedules(sender, **kwargs) -> None:
    from sync.schedules import ensure_schedules

    ensure_schedules()


class SyncConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sync"
    verbose_name = _("Sync")

    def ready(self) -> None:
        # After migrate (tables exist): the periodic sync is there on every install.
        post_migrate.connect(_schedules, sender=self, dispatch_uid="sync-ensure-schedules")
