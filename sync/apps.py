from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _after_migrate(sender, using="default", **kwargs) -> None:
    # Imported here: these modules import models, which the app registry loads after this file.
    from sync.defaults import groups_ensure
    from sync.schedules import ensure_schedules

    # The permission groups, and every periodic job (the sync cycle, the sweep, the alerts, the
    # daily refresh of rolling-date lists) on every install.
    groups_ensure(using=using)
    ensure_schedules()


class SyncConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sync"
    verbose_name = _("Sync")

    def ready(self) -> None:
        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="sync-after-migrate")
        # A list published to HubSpot follows its edits there; lists (the lower layer) calls
        # these without naming this app. Models are importable only once the registry is ready.
        from lists.remote import RemoteLists, remote_register
        from sync.services.hubspot_lists import hubspot_list_url, published_list_changed, published_list_deleted

        remote_register(
            RemoteLists(
                changed=published_list_changed,
                deleted=published_list_deleted,
                publish_url_name="sync:list_publish",
                list_url=hubspot_list_url,
            )
        )
