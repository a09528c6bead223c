"""What a fresh install needs in its tables: the default field mappings (DESIGN §6) and the three
permission groups. Idempotent; run after every migrate (post_migrate), like Django's own
permissions, so it also holds after a test database is flushed."""

from __future__ import annotations

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

DEFAULT_MAPPINGS = [
    ("email", "Email", "both"),
    ("firstname", "FirstName", "both"),
    ("lastname", "LastName", "both"),
    ("company", "Company", "Lead"),
    ("phone", "Phone", "both"),
    ("jobtitle", "Title", "both"),
    ("city", "City", "Lead"),
    ("city", "MailingCity", "Contact"),
    ("country", "Country", "Lead"),
    ("country", "MailingCountry", "Contact"),
]

# Group -> (app label, codename or codename prefix ending in "_", None for every permission).
GROUPS = {
    "Integration admins": [("integration", None), ("sync", "view_"), ("sync", "trigger_sync"), ("lists", "view_")],
    "List editors": [("lists", None), ("integration", "view_")],
    "Sync operators": [
        ("sync", "view_"),
        ("sync", "trigger_sync"),
        ("sync", "change_syncrecord"),
        ("lists", "view_"),
        ("integration", "view_"),
    ],
}


def ensure_defaults(apps=global_apps, using: str = "default") -> None:
    FieldMapping = apps.get_model("integration", "FieldMapping")
    # Defaults only on a fresh install: mappings an admin has edited or removed stay as they are.
    if not FieldMapping.objects.using(using).exists():
        FieldMapping.objects.using(using).bulk_create(
            FieldMapping(hubspot_property=prop, salesforce_field=field, salesforce_object=obj, rule="two_way")
            for prop, field, obj in DEFAULT_MAPPINGS
        )
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
