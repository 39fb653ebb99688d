"""Webhook endpoints, the event outbox and the deliveries (SPEC §16).

An event is written in the transaction of the change that caused it (`webhooks.outbox`), one row per
event; the worker fans it out into one delivery per matching endpoint and delivers them
(`webhooks.delivery`). Secrets are stored encrypted (`webhooks.secrets`), never in clear.
"""

import uuid

from django.conf import settings
from django.db import models

from accounts.roles import is_admin, is_manager


def new_event_id() -> str:
    """The `webhook-id` of an event: `msg_` + 32 hex digits (a random UUID), the same on every attempt."""
    return f"msg_{uuid.uuid4().hex}"


class EventType(models.TextChoices):
    """Every event type of SPEC §16."""

    STOCK_CHANGED = "stock.changed"
    ALERT_OPENED = "alert.opened"
    ALERT_RESOLVED = "alert.resolved"
    PURCHASE_REQUEST_CREATED = "purchase_request.created"
    PURCHASE_REQUEST_DECIDED = "purchase_request.decided"
    PURCHASE_REQUEST_CANCELLED = "purchase_request.cancelled"
    TRANSFER_REQUEST_CREATED = "transfer_request.created"
    TRANSFER_REQUEST_DECIDED = "transfer_request.decided"
    TRANSFER_REQUEST_SHIPPED = "transfer_request.shipped"
    TRANSFER_REQUEST_RECEIVED = "transfer_request.received"
    TRANSFER_REQUEST_CLOSED = "transfer_request.closed"
    TRANSFER_REQUEST_CANCELLED = "transfer_request.cancelled"
    RESERVATION_CREATED = "reservation.created"
    RESERVATION_RELEASED = "reservation.released"
    RESERVATION_FULFILLED = "reservation.fulfilled"
    RESERVATION_EXPIRED = "reservation.expired"
    STOCK_COUNT_SUBMITTED = "stock_count.submitted"
    STOCK_COUNT_DECIDED = "stock_count.decided"
    PING = "ping"


ALL_EVENTS = "*"


class EndpointQuerySet(models.QuerySet):
    """Endpoints scoped to a user: an admin sees every endpoint, a manager their own, anyone else none."""

    def for_user(self, user) -> "EndpointQuerySet":
        if is_admin(user):
            return self.all()
        if is_manager(user):
            return self.filter(created_by_id=user.pk)
        return self.none()


class WebhookEndpoint(models.Model):
    """A receiver's URL, the event types and warehouses it wants, and its signing secrets (encrypted)."""

    class DisabledReason(models.TextChoices):
        NONE = "", "Active"
        MANUAL = "manual", "Deactivated by a user"
        OWNER_CHANGED = "owner_changed", "Its owner is no longer an active admin or manager"
        FAILING = "failing", "Every delivery failed for too long"

    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)  # event types, or ["*"]
    warehouses = models.ManyToManyField("warehouses.Warehouse", blank=True, related_name="webhook_endpoints")
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="webhook_endpoints")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    disabled_reason = models.CharField(max_length=16, choices=DisabledReason.choices, blank=True, default="")
    # Since when the endpoint is active (creation or last reactivation): it receives the events created
    # from then on, never those created while it was inactive (the worker fans out after the fact).
    active_since = models.DateTimeField()
    # The current secret (Fernet token of the `whsec_...` string) and those it replaced:
    # [{"secret": token, "replaced_at": ISO 8601}], signed with for 24 hours after their replacement.
    secret_encrypted = models.TextField(editable=False)
    previous_secrets = models.JSONField(default=list, editable=False)
    # When its deliveries started failing without a success since (auto-disable, SPEC §16).
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)

    objects = EndpointQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["is_active"], name="webhook_endpoint_active")]

    def __str__(self):
        return f"webhook {self.pk}: {self.url}"

    def subscribes_to(self, event_type: str) -> bool:
        return ALL_EVENTS in self.events or event_type in self.events


class WebhookEvent(models.Model):
    """One event in the outbox: its type, its data (a snapshot taken when it happened), the warehouses it is
    about. `target` is set for a ping (one endpoint alone); `dispatched_at` once the worker fanned it out."""

    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    data = models.JSONField()
    warehouse_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(db_index=True)
    target = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, null=True, blank=True,
                               related_name="+")
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at"], name="webhook_event_undispatched",
                         condition=models.Q(dispatched_at__isnull=True)),
        ]

    def __str__(self):
        return f"{self.type} {self.pk}"


class WebhookDelivery(models.Model):
    """One event to one endpoint: attempted until a 2xx, or `failed` after the last attempt.

    `leased_until`: a worker holding the attempt (claimed under the row lock); past it, the worker is
    presumed dead and another one takes the attempt over.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due",
                         condition=models.Q(status="pending")),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self):
        return f"{self.event_id} → endpoint {self.endpoint_id}: {self.status}"
