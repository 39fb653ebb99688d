"""Stock counts now belong to workflows (its 0004 renamed the tables); forget the models here, state only."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0012_task_paths'),
        ('workflows', '0004_move_counts'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='stockcountline',
                    name='count',
                ),
                migrations.RemoveField(
                    model_name='stockcountline',
                    name='product',
                ),
                migrations.RemoveField(
                    model_name='stockcountline',
                    name='stock',
                ),
                migrations.DeleteModel(
                    name='StockCount',
                ),
                migrations.DeleteModel(
                    name='StockCountLine',
                ),
            ],
        ),
    ]
