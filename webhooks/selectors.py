"""Reads of the webhooks API: endpoints in the caller's scope and an endpoint's deliveries."""

from django.db.models import QuerySet

from .models import WebhookDelivery, WebhookEndpoint


def endpoints_for(user) -> QuerySet[WebhookEndpoint]:
    """Endpoints the user may see (admin: all; manager: their own), their warehouse ids prefetched."""
    return WebhookEndpoint.objects.for_user(user).prefetch_related("warehouses").order_by("-created_at", "-id")


def deliveries_of(endpoint: WebhookEndpoint, *, status: str | None = None) -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries, newest first, with their events' summary."""
    rows = (WebhookDelivery.objects.filter(endpoint=endpoint)
            .select_related("event").defer("event__data").order_by("-created_at", "-id"))
    return rows.filter(status=status) if status else rows
