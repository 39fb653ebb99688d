"""Warehouses: code_key (NFKC + casefold, core.identity), filled for existing rows, unique."""

from django.db import migrations, models

from core.identity import identity_key


def fill_keys(apps, schema_editor):
    model = apps.get_model("warehouses", "Warehouse")
    rows = list(model._base_manager.all())
    for row in rows:
        row.code_key = identity_key(row.code)
    model._base_manager.bulk_update(rows, ["code_key"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("warehouses", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="warehouse", name="code_key", field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="warehouse", name="code_key", field=models.TextField(editable=False, unique=True),
        ),
    ]
