"""Promotion requests now belong to accounts (its 0004 renamed the table); forget the model here, state only."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("workflows", "0001_initial"),
        ("accounts", "0004_managerpromotionrequest"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ManagerPromotionRequest")],
        ),
    ]
