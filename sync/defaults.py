"""The three permission groups a fresh install gets. They span every app (lists, integration,
sync), so the top layer creates them. Idempotent; run after every migrate (post_migrate), like
Django's own permissions, so they also hold after a test database is flushed. A group that
exists is left as an admin may have changed it."""

from __future__ import annotations

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

# Group -> (app label, codename or codename prefix ending in "_", None for every permission).
GROUPS = {
    "Integration admins": [
        ("integration", None),
        ("sync", "view_"),
        ("sync", "trigger_sync"),
        ("lists", "view_"),
        # Where alerts go is the integration's own configuration.
        ("sync", "add_alertchannel"),
        ("sync", "change_alertchannel"),
        ("sync", "delete_alertchannel"),
    ],
    "List editors": [("lists", None), ("integration", "view_")],
    "Sync operators": [
        ("sync", "view_"),
        ("sync", "trigger_sync"),
        ("sync", "change_syncrecord"),
        ("lists", "view_"),
        ("integration", "view_"),
    ],
}


def groups_ensure(apps=global_apps, using: str = "default") -> None:
    for label in ("lists", "integration", "sync"):
        create_permissions(global_apps.get_app_config(label), verbosity=0, using=using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, rules in GROUPS.items():
        group, created = Group.objects.using(using).get_or_create(name=name)
        if not created:
            continue
        for app_label, codename in rules:
            perms = Permission.objects.using(using).filter(content_type__app_label=app_label)
            if codename and codename.endswith("_"):
                perms = perms.filter(codename__startswith=codename)
            elif codename:
                perms = perms.filter(codename=codename)
            group.permissions.add(*perms)
