"""The webhook figures an operator pages on, read at every metrics scrape (`core.metrics`)."""

from django.db.models import Count, Q
from prometheus_client.core import GaugeMetricFamily

from .models import WebhookDelivery, WebhookEndpoint, WebhookEvent

Status = WebhookDelivery.Status


def webhook_figures():
    """Deliveries pending and failed; events not fanned out yet; endpoints disabled because they failed."""
    deliveries = WebhookDelivery.objects.aggregate(pending=Count("pk", filter=Q(status=Status.PENDING)),
                                                   failed=Count("pk", filter=Q(status=Status.FAILED)))
    family = GaugeMetricFamily("inventory_webhook_deliveries", "Webhook deliveries by state.", labels=["state"])
    family.add_metric(["pending"], deliveries["pending"])
    family.add_metric(["failed"], deliveries["failed"])
    yield family
    yield GaugeMetricFamily("inventory_webhook_events_undispatched",
                            "Webhook events the worker has not fanned out to endpoints yet.",
                            value=WebhookEvent.objects.filter(dispatched_at__isnull=True).count())
    yield GaugeMetricFamily("inventory_webhook_endpoints_failing",
                            "Webhook endpoints disabled because every delivery failed.",
                            value=WebhookEndpoint.objects.filter(
                                disabled_reason=WebhookEndpoint.DisabledReason.FAILING).count())
