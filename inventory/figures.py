"""The inventory figures an operator pages on, read at every metrics scrape (`core.metrics`)."""

from django.db.models import Count, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from .models import LowStockAlert, Reservation

EmailStatus = LowStockAlert.EmailStatus


def inventory_figures():
    """Alert e-mails pending (queued or retrying) and failed; active reservations past their expiry."""
    emails = LowStockAlert.objects.aggregate(
        pending=Count("pk", filter=Q(email_status__in=[EmailStatus.QUEUED, EmailStatus.RETRYING])),
        failed=Count("pk", filter=Q(email_status=EmailStatus.FAILED)))
    family = GaugeMetricFamily("inventory_alert_emails", "Low-stock alert e-mails by state.", labels=["state"])
    family.add_metric(["pending"], emails["pending"])
    family.add_metric(["failed"], emails["failed"])
    yield family
    due = Reservation.objects.filter(status=Reservation.Status.ACTIVE, expires_at__lte=timezone.now()).count()
    yield GaugeMetricFamily("inventory_reservations_due_for_expiry",
                            "Active reservations whose expiry has passed (the worker expires them).", value=due)
