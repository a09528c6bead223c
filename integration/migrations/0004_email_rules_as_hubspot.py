"""The email may only be mapped Two-way or Prefer Salesforce unless blank (HubSpot's rule): an
install whose email mapping says otherwise moves to Prefer Salesforce unless blank, HubSpot's
default for it, and the change is in the audit log."""

from django.db import migrations
from django.db.models import Q


def email_rules_as_hubspot(apps, schema_editor):
    FieldMapping = apps.get_model("integration", "FieldMapping")
    SettingChange = apps.get_model("integration", "SettingChange")
    wrong = FieldMapping.objects.filter(Q(hubspot_property="email") | Q(salesforce_field__iexact="email")).exclude(
        rule__in=["two_way", "prefer_salesforce"]
    )
    for mapping in wrong:
        label = f"{mapping.hubspot_property} → {mapping.salesforce_object}.{mapping.salesforce_field}"
        SettingChange.objects.create(
            setting="field_mapping",
            old_value=f"{label} ({mapping.rule})",
            new_value=f"{label} (prefer_salesforce)",
            detail={"why": "The email may only be mapped Two-way or Prefer Salesforce unless blank."},
        )
        mapping.rule = "prefer_salesforce"
        mapping.save(update_fields=["rule"])


class Migration(migrations.Migration):
    dependencies = [("integration", "0003_allocation_help_text")]

    operations = [migrations.RunPython(email_rules_as_hubspot, migrations.RunPython.noop)]
