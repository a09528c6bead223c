"""What a fresh install needs in integration's tables: the default field mappings (DESIGN §6).
Idempotent; run after every migrate (post_migrate), so it also holds after a test database is
flushed. The permission groups span every app: ``sync.defaults`` creates them."""

from __future__ import annotations

from django.apps import apps as global_apps

# (HubSpot property, Salesforce field, object, rule). The email goes "Prefer Salesforce unless
# blank", HubSpot's default for it; every other field Two-way.
DEFAULT_MAPPINGS = [
    ("email", "Email", "both", "prefer_salesforce"),
    ("firstname", "FirstName", "both", "two_way"),
    ("lastname", "LastName", "both", "two_way"),
    ("company", "Company", "Lead", "two_way"),
    ("phone", "Phone", "both", "two_way"),
    ("jobtitle", "Title", "both", "two_way"),
    ("city", "City", "Lead", "two_way"),
    ("city", "MailingCity", "Contact", "two_way"),
    ("country", "Country", "Lead", "two_way"),
    ("country", "MailingCountry", "Contact", "two_way"),
    # The owner, matched by email on both sides (sync.engine.owners).
    ("hubspot_owner_id", "OwnerId", "both", "two_way"),
]
OWNER_MAPPING = DEFAULT_MAPPINGS[-1]


def ensure_defaults(apps=global_apps, using: str = "default") -> None:
    FieldMapping = apps.get_model("integration", "FieldMapping")
    # Defaults only on a fresh install: mappings an admin has edited or removed stay as they are.
    if not FieldMapping.objects.using(using).exists():
        FieldMapping.objects.using(using).bulk_create(
            FieldMapping(hubspot_property=prop, salesforce_field=field, salesforce_object=obj, rule=rule)
            for prop, field, obj, rule in DEFAULT_MAPPINGS
        )
