"""Background tasks: low-stock alert e-mails (Django's task API, database backend)."""

from django_tasks import task


@task()
def send_low_stock_alert_email(*, alert_id: int, attempt: int = 1) -> str:
    """Send the e-mail of one alert to the warehouse's manager and every active admin."""
    raise NotImplementedError("implemented in the alerts issue")
