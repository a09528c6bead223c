"""Kept for history. The default field mappings and permission groups are installed after every
migrate by integration.defaults.ensure_defaults (post_migrate), which is idempotent and also
restores them after a test database is flushed."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0001_initial"),
        ("lists", "0001_initial"),
        ("sync", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
