"""Django admin for roles, profiles, the audit trail and promotion requests (users: `warehouses.admin`, since
a user change can release the warehouses a manager managed)."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import AuditEvent, ManagerPromotionRequest, Role, UserProfile


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    """The four fixed roles (created by migration)."""

    list_display = ["name", "description"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    """Contact details and pictures."""

    list_display = ["user", "phone", "updated_at"]
    search_fields = ["user__username", "phone"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The append-only audit trail."""

    list_display = ["created_at", "actor", "action", "target", "ip"]
    list_filter = ["action"]
    search_fields = ["action", "target", "actor__username"]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"


@admin.register(ManagerPromotionRequest)
class ManagerPromotionRequestAdmin(ReadOnlyAdmin):
    """Promotion requests; decided through the API so the role change and audit happen together."""

    list_display = ["id", "user", "requested_by", "status", "decided_by", "created_at", "decided_at"]
    list_filter = ["status"]
    search_fields = ["user__username", "requested_by__username"]
    list_select_related = ["user", "requested_by", "decided_by"]
