"""What a fresh install needs in integration's tables: the default field mappings (DESIGN §6).
Idempotent; run after every migrate (post_migrate), so it also holds after a test database is
flushed. The permission groups span every app: ``sync.defaults`` creates them."""

from __future__ import annotations

from django.apps import apps as global_apps

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


def ensure_defaults(apps=global_apps, using: str = "default") -> None:
    FieldMapping = apps.get_model("integration", "FieldMapping")
    # Defaults only on a fresh install: mappings an admin has edited or removed stay as they are.
    if not FieldMapping.objects.using(using).exists():
        FieldMapping.objects.using(using).bulk_create(
            FieldMapping(hubspot_property=prop, salesforce_field=field, salesforce_object=obj, rule="two_way")
            for prop, field, obj in DEFAULT_MAPPINGS
        )
