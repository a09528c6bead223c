"""Default field mappings (DESIGN §6) and the three permission groups."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

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

GROUPS = {
    "Integration admins": [
        ("integration", None),
        ("sync", "view_"),
        ("sync", "trigger_sync"),
        ("lists", "view_"),
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


def forwards(apps, schema_editor):
    FieldMapping = apps.get_model("integration", "FieldMapping")
    for prop, field, obj in DEFAULT_MAPPINGS:
        FieldMapping.objects.get_or_create(
            salesforce_object=obj, salesforce_field=field, defaults={"hubspot_property": prop, "rule": "two_way"}
        )
    # Permissions are normally created after migrate; the groups need them now.
    for app_label in ("lists", "integration", "sync"):
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, rules in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in rules:
            perms = Permission.objects.filter(content_type__app_label=app_label)
            if codename and codename.endswith("_"):
                perms = perms.filter(codename__startswith=codename)
            elif codename:
                perms = perms.filter(codename=codename)
            group.permissions.add(*perms)


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0001_initial"),
        ("lists", "0001_initial"),
        ("sync", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
