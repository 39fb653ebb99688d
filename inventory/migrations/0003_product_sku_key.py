"""Products: sku_key (NFKC + casefold, core.identity), filled for existing rows, unique."""

from django.db import migrations, models

from core.identity import identity_key


def fill_keys(apps, schema_editor):
    model = apps.get_model("inventory", "Product")
    rows = list(model._base_manager.all())
    for row in rows:
        row.sku_key = identity_key(row.sku)
    model._base_manager.bulk_update(rows, ["sku_key"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0002_ledger_immutable_trigger")]

    operations = [
        migrations.AddField(
            model_name="product", name="sku_key", field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="product", name="sku_key", field=models.TextField(editable=False, unique=True),
        ),
    ]
