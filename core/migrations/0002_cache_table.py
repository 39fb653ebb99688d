# The database cache's table (settings.CACHES without REDIS_URL): the throttles' counters, shared by every
# worker process. Created here rather than by a separate `createcachetable` step so that every way a
# database is set up — `migrate` in deployment, the dev command, the test database — has it. It is
# created whatever CACHES says today, so switching from Redis to the database cache needs no extra step.

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "django_cache"  # settings.CACHES["default"]["LOCATION"] for the database cache


def create(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0  # set by handle(), which is not called here
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop(apps, schema_editor):
    if TABLE in schema_editor.connection.introspection.table_names():
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):

    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
