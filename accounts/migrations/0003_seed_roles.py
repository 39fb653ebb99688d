from django.db import migrations


def create_roles(apps, schema_editor):
    from accounts.roles import ensure_roles

    ensure_roles(apps.get_model("accounts", "Role"))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_initial")]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
