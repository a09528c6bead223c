from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _defaults(sender, using="default", **kwargs) -> None:
    # Imported here, as in ready(): an AppConfig module is imported before the models it names.
    from integration.defaults import ensure_defaults

    ensure_defaults(using=using)


class IntegrationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "integration"
    verbose_name = _("Connected apps")

    def ready(self) -> None:
        # Models are importable only once the registry is ready, hence the imports here.
        from integration.models import SyncSettings
        from lists.usage import ListUse, list_use_register

        post_migrate.connect(_defaults, sender=self, dispatch_uid="integration-defaults")
        # The lists page badges the inclusion list and refuses to delete it, without lists
        # naming this app (lists is the lower layer).
        list_use_register(
            ListUse(
                key="inclusion",
                model=SyncSettings,
                field="inclusion_list",
                badge=_("Inclusion list"),
                delete_refusal=_(
                    "“%(name)s” is the inclusion list of the Salesforce sync: pick another inclusion list before "
                    "deleting it."
                ),
            )
        )
