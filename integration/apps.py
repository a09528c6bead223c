from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _defaults(sender, using="default", **kwargs) -> None:
    from integration.defaults import ensure_defaults

    ensure_defaults(using=using)


class IntegrationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "integration"
    verbose_name = _("Connected apps")

    def ready(self) -> None:
        post_migrate.connect(_defaults, sender=self, dispatch_uid="integration-defaults")
