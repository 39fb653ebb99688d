"""Django admin for purchase and transfer requests: read-only, decided only through the services."""

from django.contrib import admin, messages
from django.db import transaction

from accounts.roles import is_admin
from core.admin import ReadOnlyAdmin
from core.decisions import Decision
from core.errors import DomainError, PermissionDenied
from core.http import client_ip

from . import policies, services
from .models import PurchaseRequest, StockCount, StockCountLine, TransferLine, TransferRequest


class RequestAdmin(ReadOnlyAdmin):
    """Read-only request list and detail; decisions go through `decide` (the same service as the API)."""

    list_display = ["id", "status", "product", "quantity", "requested_by", "decided_by", "created_at", "decided_at"]
    list_filter = ["status"]
    date_hierarchy = "created_at"
    actions = ["approve_selected", "reject_selected"]

    def may_decide(self, user, obj) -> bool:
        """The policy the API asks too (the service asks it again under the row lock)."""
        raise NotImplementedError

    def decide(self, *, actor, request_id: int, decision: str, ip: str | None):
        raise NotImplementedError

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_view_permission(self, request, obj=None):
        return is_admin(request.user) or super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return is_admin(request.user) or super().has_module_permission(request)

    @admin.action(description="Approve selected")
    def approve_selected(self, request, queryset):
        self._decide_all(request, queryset, Decision.APPROVE)

    @admin.action(description="Reject selected")
    def reject_selected(self, request, queryset):
        self._decide_all(request, queryset, Decision.REJECT)

    def _decide_all(self, request, queryset, decision: str) -> None:
        self.run_each(request, queryset, may=self.may_decide,
                      verb="approved" if decision == Decision.APPROVE else "rejected",
                      run=lambda obj: self.decide(actor=request.user, request_id=obj.pk, decision=decision,
                                                  ip=client_ip(request)))

    def run_each(self, request, queryset, *, may, run, verb: str) -> None:
        """Ask `may(user, obj)` (the API's policy) and `run(obj)` (a service) per selected request; report each."""
        done, failures = 0, []
        for obj in queryset.order_by("pk"):
            try:
                if not may(request.user, obj):
                    raise PermissionDenied()
                # One transaction per request: a failure leaves the others done.
                with transaction.atomic():
                    run(obj)
            except DomainError as exc:
                failures.append(f"#{obj.pk}: {exc.detail}")
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} request(s) {verb}.", messages.SUCCESS)
        for failure in failures:
            self.message_user(request, failure, messages.ERROR)


@admin.register(PurchaseRequest)
class PurchaseRequestAdmin(RequestAdmin):
    """Purchase requests."""

    list_display = ["id", "status", "warehouse", *RequestAdmin.list_display[2:]]
    list_filter = ["status", "warehouse"]
    list_select_related = ["warehouse", "product", "requested_by", "decided_by"]

    def may_decide(self, user, obj):
        return policies.can_decide_purchase(user, obj)

    def decide(self, *, actor, request_id, decision, ip):
        services.decide_purchase_request(actor=actor, request_id=request_id, decision=decision, ip=ip)


class TransferLineInline(admin.TabularInline):
    """A transfer's lines, read-only: shipped, received and rejected units change only through the services."""

    model = TransferLine
    fields = ["product", "quantity", "shipped_quantity", "received_quantity", "rejected_quantity"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return is_admin(request.user) or super().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TransferRequest)
class TransferRequestAdmin(RequestAdmin):
    """Transfer requests with their lines; approve, reject, ship and cancel through the API's services."""

    list_display = ["id", "status", "mode", "source_warehouse", "destination_warehouse",
                    *RequestAdmin.list_display[2:]]
    list_filter = ["status", "mode", "source_warehouse", "destination_warehouse"]
    list_select_related = ["source_warehouse", "destination_warehouse", "product", "requested_by", "decided_by"]
    inlines = [TransferLineInline]
    actions = [*RequestAdmin.actions, "ship_selected", "cancel_selected"]

    @admin.action(description="Ship selected (approved, in transit mode)")
    def ship_selected(self, request, queryset):
        self.run_each(request, queryset, may=policies.can_ship, verb="shipped",
                      run=lambda obj: services.ship_transfer(actor=request.user, transfer_id=obj.pk,
                                                             ip=client_ip(request)))

    @admin.action(description="Cancel selected (pending, or approved and not shipped)")
    def cancel_selected(self, request, queryset):
        self.run_each(request, queryset, may=policies.can_cancel_transfer, verb="cancelled",
                      run=lambda obj: services.cancel_transfer(actor=request.user, transfer_id=obj.pk,
                                                               ip=client_ip(request)))

    def may_decide(self, user, obj):
        return policies.can_decide_transfer(user, obj)

    def decide(self, *, actor, request_id, decision, ip):
        services.decide_transfer_request(actor=actor, request_id=request_id, decision=decision, ip=ip)


class StockCountLineInline(admin.TabularInline):
    """The lines of a count (read-only)."""

    model = StockCountLine
    fields = ["product", "lot", "expected", "counted", "counted_by"]
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(StockCount)
class StockCountAdmin(ReadOnlyAdmin):
    """Stock counts (read-only here: counting, deciding and applying go through the API and its services)."""

    list_display = ["id", "warehouse", "status", "created_by", "created_at", "decided_by", "decided_at"]
    list_filter = ["status", "warehouse"]
    list_select_related = ["warehouse", "created_by", "decided_by"]
    inlines = [StockCountLineInline]
