"""Tasks queued before `inventory.tasks` was split keep running: their stored paths follow the new modules."""

from django.db import migrations

MOVED = {
    "inventory.tasks.send_low_stock_alert_email": "inventory.alert_emails.send_low_stock_alert_email",
    "inventory.tasks.reclaim_lost_email_attempts": "inventory.alert_emails.reclaim_lost_email_attempts",
    "inventory.tasks.expire_reservations": "inventory.services.reservations.expire_reservations",
}


def forward(apps, schema_editor):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    for old, new in MOVED.items():
        DBTaskResult.objects.filter(task_path=old, status="READY").update(task_path=new)


def backward(apps, schema_editor):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    for old, new in MOVED.items():
        DBTaskResult.objects.filter(task_path=new, status="READY").update(task_path=old)


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0011_closed_warehouse_days"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(forward, backward)]
