"""Django admin for webhooks: endpoints with their deliveries, never a secret. Changes go through the same
services and policies as the API (an admin acts as themselves: audited, scoped)."""

from django.contrib import admin, messages

from core.admin import ReadOnlyAdmin
from core.errors import DomainError
from core.http import client_ip

from . import policies, services
from .models import WebhookDelivery, WebhookEndpoint


class DeliveryInline(admin.TabularInline):
    """The endpoint's latest deliveries (read-only)."""

    model = WebhookDelivery
    fields = ["event", "status", "attempts", "last_status_code", "last_error", "next_attempt_at", "delivered_at"]
    readonly_fields = fields
    ordering = ["-created_at"]
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("event")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Endpoints: read here, (de)activated, pinged, deleted through the services. No secret is ever shown."""

    list_display = ["id", "url", "is_active", "disabled_reason", "created_by", "created_at"]
    list_filter = ["is_active", "disabled_reason"]
    search_fields = ["url", "description"]
    fields = ["url", "events", "warehouses", "is_active", "disabled_reason", "description", "created_by",
              "created_at", "active_since", "failing_since"]
    readonly_fields = fields
    inlines = [DeliveryInline]
    actions = ["deactivate", "reactivate", "send_ping"]

    def has_module_permission(self, request):
        return super().has_module_permission(request) and policies.can_manage_webhooks(request.user)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and policies.can_manage_webhooks(request.user)

    def has_add_permission(self, request):
        return False  # created through the API, which shows the secret once

    def has_change_permission(self, request, obj=None):
        return False  # the actions below change endpoints, through the services

    def has_delete_permission(self, request, obj=None):
        return obj is None or policies.can_act_on_endpoint(request.user, obj)

    def get_queryset(self, request):
        return WebhookEndpoint.objects.for_user(request.user).select_related("created_by")

    def delete_model(self, request, obj):
        services.delete_endpoint(actor=request.user, endpoint=obj, ip=client_ip(request))

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            self.delete_model(request, endpoint)

    def _each(self, request, queryset, act, done: str):
        count = 0
        for endpoint in queryset:
            try:
                act(endpoint)
            except DomainError as exc:
                self.message_user(request, f"Endpoint {endpoint.pk}: {exc.detail}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, f"{count} endpoint(s) {done}.", messages.SUCCESS)

    @admin.action(description="Deactivate the selected endpoints")
    def deactivate(self, request, queryset):
        self._each(request, queryset, lambda e: services.update_endpoint(
            actor=request.user, endpoint=e, is_active=False, ip=client_ip(request)), "deactivated")

    @admin.action(description="Reactivate the selected endpoints")
    def reactivate(self, request, queryset):
        self._each(request, queryset, lambda e: services.update_endpoint(
            actor=request.user, endpoint=e, is_active=True, ip=client_ip(request)), "reactivated")

    @admin.action(description="Send a ping to the selected endpoints")
    def send_ping(self, request, queryset):
        self._each(request, queryset, lambda e: services.ping(actor=request.user, endpoint=e, ip=client_ip(request)),
                   "pinged")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log (read-only); redelivery through the service."""

    list_display = ["id", "event", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at",
                    "delivered_at"]
    list_filter = ["status"]
    actions = ["redeliver"]

    def has_module_permission(self, request):
        return policies.can_manage_webhooks(request.user)

    def has_view_permission(self, request, obj=None):
        return policies.can_manage_webhooks(request.user)

    def get_queryset(self, request):
        return (WebhookDelivery.objects.filter(endpoint__in=WebhookEndpoint.objects.for_user(request.user))
                .select_related("event", "endpoint"))

    @admin.action(description="Redeliver the selected deliveries (same webhook-id)")
    def redeliver(self, request, queryset):
        count = 0
        for delivery in queryset.select_related("endpoint"):
            try:
                services.redeliver(actor=request.user, endpoint=delivery.endpoint, delivery_id=delivery.pk,
                                   ip=client_ip(request))
            except DomainError as exc:
                self.message_user(request, f"Delivery {delivery.pk}: {exc.detail}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)
