"""Webhook endpoints and deliveries as the API shows them, and the strict input of each action."""

from rest_framework import serializers

from core.serializers import StrictSerializer
from warehouses.models import Warehouse

from .models import ALL_EVENTS, EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent

EVENT_CHOICES = [ALL_EVENTS, *EventType.values]


class EndpointSerializer(serializers.ModelSerializer):
    """`{id, url, events, warehouses, is_active, description, created_by, created_at, disabled_reason}`."""

    warehouses = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "warehouses", "is_active", "description", "created_by", "created_at",
                  "disabled_reason"]
        read_only_fields = fields


class EndpointWithSecretSerializer(EndpointSerializer):
    """The endpoint with its secret: the answer to a create, this once."""

    secret = serializers.CharField(read_only=True)

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EndpointInputSerializer(StrictSerializer):
    """`{url, events, warehouses?, description?, is_active?}` (all optional for a PATCH)."""

    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_CHOICES), min_length=1,
                                   max_length=len(EVENT_CHOICES))
    warehouses = serializers.ListField(child=serializers.PrimaryKeyRelatedField(queryset=Warehouse.objects.all()),
                                       required=False, max_length=1000)
    description = serializers.CharField(max_length=500, allow_blank=True, required=False)
    is_active = serializers.BooleanField(required=False)


class RotateSecretSerializer(StrictSerializer):
    """`{expire_previous?: bool}`."""

    expire_previous = serializers.BooleanField(required=False, default=False)


class SecretSerializer(serializers.Serializer):
    """`{secret}`: the new secret, shown this once."""

    secret = serializers.CharField(read_only=True)


class EventSummarySerializer(serializers.ModelSerializer):
    """`{id, type, created_at}` of an event (the `webhook-id` is its id)."""

    class Meta:
        model = WebhookEvent
        fields = ["id", "type", "created_at"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    """`{id, event: {id, type, created_at}, status, attempts, last_status_code, last_error, next_attempt_at,
    delivered_at}`."""

    event = EventSummarySerializer(read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event", "status", "attempts", "last_status_code", "last_error", "next_attempt_at",
                  "delivered_at"]
        read_only_fields = fields
