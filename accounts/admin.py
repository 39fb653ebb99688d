"""Django admin for users, roles, profiles, the audit trail and promotion requests."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from core.admin import ReadOnlyAdmin
from core.http import client_ip

from . import services
from .models import AuditEvent, ManagerPromotionRequest, Role, User, UserProfile


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Users with their role, lifecycle status and warehouse."""

    list_display = ["username", "email", "first_name", "last_name", "role", "status", "warehouse", "date_joined"]
    list_filter = ["role", "status", "warehouse", "is_superuser"]
    search_fields = ["username", "email", "first_name", "last_name"]
    list_select_related = ["role", "warehouse"]
    readonly_fields = ["is_active", "last_login", "date_joined"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("Role and lifecycle", {"fields": ["role", "status", "warehouse"]}),
    ]
    add_fieldsets = [
        *DjangoUserAdmin.add_fieldsets,
        ("Role and lifecycle", {"fields": ["role", "status", "warehouse"]}),
    ]

    def save_model(self, request, obj, form, change):
        # Role and status changes made here are audited and have the API's effects (SPEC §3, §8).
        super().save_model(request, obj, form, change)
        fields = [f for f in ("role", "status", "warehouse", "is_superuser") if f in form.changed_data]
        if fields or not change:
            services.record_admin_user_change(actor=request.user, user=obj, fields=fields, created=not change,
                                              ip=client_ip(request))


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
