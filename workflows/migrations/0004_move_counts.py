"""Stock counts move from inventory to workflows, beside the other documents: state first (the tables are
inventory's), then a real table rename (rows kept), as the promotion requests moved to accounts."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        # The tables are created by inventory's 0005; here they only change owner and name.
        ('inventory', '0012_task_paths'),
        ('warehouses', '0003_warehouse_count_tolerance'),
        ('workflows', '0003_transfer_lines_and_transit'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='StockCount',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('open', 'Open'), ('submitted', 'Submitted'), ('applied', 'Applied'), ('rejected', 'Rejected'), ('cancelled', 'Cancelled')], db_index=True, default='open', max_length=10)),
                        ('note', models.TextField(blank=True, max_length=2000)),
                        ('decision_reason', models.TextField(blank=True, max_length=2000)),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('submitted_at', models.DateTimeField(blank=True, null=True)),
                        ('decided_at', models.DateTimeField(blank=True, null=True)),
                        ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('submitted_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('warehouse', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='stock_counts', to='warehouses.warehouse')),
                    ],
                    options={
                        'ordering': ['-created_at', '-id'],
                        'db_table': 'inventory_stockcount',
                    },
                ),
                migrations.CreateModel(
                    name='StockCountLine',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('expected', models.BigIntegerField()),
                        ('counted', models.BigIntegerField(blank=True, null=True)),
                        ('count', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='workflows.stockcount')),
                        ('product', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='inventory.product')),
                        ('stock', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='inventory.stock')),
                    ],
                    options={
                        'ordering': ['count_id', 'id'],
                        'db_table': 'inventory_stockcountline',
                    },
                ),
                migrations.AddIndex(
                    model_name='stockcount',
                    index=models.Index(fields=['warehouse', 'status'], name='count_warehouse_status'),
                ),
                migrations.AddConstraint(
                    model_name='stockcountline',
                    constraint=models.UniqueConstraint(fields=('count', 'product'), name='count_line_unique_product'),
                ),
                migrations.AddConstraint(
                    model_name='stockcountline',
                    constraint=models.CheckConstraint(condition=models.Q(('expected__gte', 0)), name='count_line_expected_non_negative'),
                ),
                migrations.AddConstraint(
                    model_name='stockcountline',
                    constraint=models.CheckConstraint(condition=models.Q(('counted__gte', 0), ('counted__isnull', True), _connector='OR'), name='count_line_counted_non_negative'),
                ),
            ],
        ),
        # Real renames to workflows' default table names; existing rows survive.
        migrations.AlterModelTable(name='stockcount', table=None),
        migrations.AlterModelTable(name='stockcountline', table=None),
    ]
