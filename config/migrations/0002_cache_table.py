"""The shared cache's table (``DatabaseCache``, used when REDIS_URL is not set): ``migrate``
creates it, as ``createcachetable`` would, so no deployment step can forget it."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

# config/settings.py's CACHES names the same table.
CACHE_TABLE = "django_cache"


def create_cache_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    # Skips a table that exists (one made earlier by ``createcachetable``).
    command.create_table(schema_editor.connection.alias, CACHE_TABLE, dry_run=False)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(CACHE_TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("config", "0001_initial")]

    operations = [migrations.RunPython(create_cache_table, drop_cache_table, elidable=False)]
