"""Promotion requests move from workflows to accounts: state first, then a real table rename (rows kept)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_seed_roles"),
        # The table is created by workflows' initial migration; here it only changes owner and name.
        ("workflows", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ManagerPromotionRequest",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("reason", models.TextField(blank=True, max_length=2000)),
                        ("status", models.CharField(choices=[("pending", "Pending"), ("approved", "Approved"),
                                                             ("rejected", "Rejected"), ("cancelled", "Cancelled")],
                                                    default="pending", max_length=10)),
                        ("decision_reason", models.TextField(blank=True, max_length=2000)),
                        ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ("decided_at", models.DateTimeField(blank=True, null=True)),
                        ("decided_by", models.ForeignKey(blank=True, null=True,
                                                         on_delete=django.db.models.deletion.PROTECT,
                                                         related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("requested_by", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                                           related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                                   to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "ordering": ["-created_at", "-id"],
                        "abstract": False,
                        "constraints": [models.UniqueConstraint(condition=models.Q(("status", "pending")),
                                                                fields=("user",),
                                                                name="promotion_one_pending_per_user")],
                        "db_table": "workflows_managerpromotionrequest",
                    },
                ),
            ],
        ),
        # A real rename to accounts' default table name; existing rows survive.
        migrations.AlterModelTable(name="managerpromotionrequest", table=None),
    ]
