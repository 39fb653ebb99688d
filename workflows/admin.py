"""Django admin for purchase and transfer requests (read-only, decided only through the services), counts and
reorder rules (written only through the services)."""

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect

from accounts.roles import is_admin
from core.admin import ReadOnlyAdmin
from core.decisions import Decision
from core.errors import DomainError, PermissionDenied
from core.http import client_ip

from . import policies, services
from .models import PurchaseRequest, ReorderRule, StockCount, StockCountLine, TransferLine, TransferRequest


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
    fields = ["product", "quantity", "shipped_quantity", "received_quantity", "rejected_quantity", "lots"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description="Lots (shipped / received / rejected)")
    def lots(self, line):
        """The lots a line of a lot-tracked product carried, in the order shipped (SPEC §14)."""
        return "; ".join(f"{entry.lot.code}: {entry.shipped} / {entry.received} / {entry.rejected}"
                         for entry in line.lot_entries.select_related("lot").order_by("pk")) or "—"

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


@admin.register(ReorderRule)
class ReorderRuleAdmin(admin.ModelAdmin):
    """Reorder rules: created, changed, deleted and evaluated through the API's services and policies."""

    list_display = ["id", "warehouse", "product", "source_warehouse", "min_quantity", "max_quantity", "multiple",
                    "is_active", "held", "outcome", "created_at"]
    list_filter = ["is_active", "held", "warehouse"]
    list_select_related = ["warehouse", "product", "source_warehouse"]
    fields = ["warehouse", "product", "source_warehouse", "min_quantity", "max_quantity", "multiple", "is_active",
              "held", "created_by", "created_at", "last_evaluation"]
    readonly_fields = ["held", "created_by", "created_at", "last_evaluation"]
    actions = ["evaluate_selected"]

    @admin.display(description="last outcome")
    def outcome(self, obj) -> str:
        return (obj.last_evaluation or {}).get("outcome", "")

    def get_readonly_fields(self, request, obj=None):
        fixed = ["warehouse", "product"] if obj is not None else []  # fixed once created, as in the API
        return [*fixed, *self.readonly_fields]

    def has_view_permission(self, request, obj=None):
        return is_admin(request.user) or super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return is_admin(request.user) or super().has_module_permission(request)

    # Writing is open to the admin role here; each service asks its policy again (an admin passes them all).
    def has_add_permission(self, request):
        return is_admin(request.user) or super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return is_admin(request.user) or super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return is_admin(request.user) or super().has_delete_permission(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A refusal of the service (duplicate, cycle, same warehouse, policy) is a message, not a server error.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            changes = {field: data[field] for field in form.changed_data if field in services.RULE_FIELDS}
            saved = services.update_rule(actor=request.user, rule_id=obj.pk, changes=changes, ip=client_ip(request))
        else:
            saved = services.create_rule(
                actor=request.user, warehouse=data["warehouse"], product=data["product"],
                source_warehouse=data["source_warehouse"], min_quantity=data["min_quantity"],
                max_quantity=data["max_quantity"], multiple=data["multiple"], is_active=data["is_active"],
                ip=client_ip(request))
        obj.pk, obj.created_at, obj.created_by = saved.pk, saved.created_at, saved.created_by

    def delete_model(self, request, obj):
        services.delete_rule(actor=request.user, rule_id=obj.pk, ip=client_ip(request))

    def delete_queryset(self, request, queryset):
        for rule in queryset.order_by("pk"):
            services.delete_rule(actor=request.user, rule_id=rule.pk, ip=client_ip(request))

    @admin.action(description="Evaluate selected now (lifts a hold)")
    def evaluate_selected(self, request, queryset):
        done, failures = 0, []
        for rule in queryset.select_related("warehouse").order_by("pk"):
            try:
                if not policies.can_edit_rule(request.user, rule):
                    raise PermissionDenied()
                services.evaluate_rule(actor=request.user, rule_id=rule.pk, ip=client_ip(request))
            except DomainError as exc:
                failures.append(f"#{rule.pk}: {exc.detail}")
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} rule(s) evaluated.", messages.SUCCESS)
        for failure in failures:
            self.message_user(request, failure, messages.ERROR)
