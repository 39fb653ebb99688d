"""Users: username_key and email_key (NFKC + casefold, core.identity), filled for existing rows, unique."""

from django.db import migrations, models

from core.identity import identity_key


def fill_keys(apps, schema_editor):
    model = apps.get_model("accounts", "User")
    rows = list(model._base_manager.all())
    for row in rows:
        row.username_key = identity_key(row.username)
        row.email_key = identity_key(row.email)
    model._base_manager.bulk_update(rows, ["username_key", "email_key"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_managerpromotionrequest")]

    operations = [
        migrations.AddField(
            model_name="user", name="username_key", field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.AddField(
            model_name="user", name="email_key", field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="user", name="username_key", field=models.TextField(editable=False, unique=True),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(condition=models.Q(("email_key", ""), _negated=True),
                                               fields=("email_key",), name="user_email_key_unique"),
        ),
    ]
