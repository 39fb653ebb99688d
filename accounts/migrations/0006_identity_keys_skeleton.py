"""Refill the identity keys: they now fold non-ASCII look-alikes (confusables skeleton) and drop format
characters (issue 24, item 5). Fails loudly on a collision between existing rows: resolve it by hand."""

from django.db import migrations

from core.identity import identity_key


def refill_keys(apps, schema_editor):
    model = apps.get_model("accounts", "User")
    rows = list(model._base_manager.all())
    for row in rows:
        row.username_key = identity_key(row.username)
        row.email_key = identity_key(row.email)
    model._base_manager.bulk_update(rows, ["username_key", "email_key"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_identity_keys")]

    operations = [migrations.RunPython(refill_keys, migrations.RunPython.noop)]
