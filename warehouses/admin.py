"""Django admin for warehouses and users: writes go through the services and ask the same policy as the API.

The user admin is registered here because its role and status changes have staffing effects (a manager
who is no longer one leaves their warehouses unmanaged: `staffing.record_admin_user_change`)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import User
from core.http import client_ip

from . import policies, services, staffing
from .models import Warehouse
from .services import warehouse_in_use


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    """Warehouses; deletion of a used warehouse is refused by the protected foreign keys."""

    list_display = ["code", "name", "manager", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]
    raw_id_fields = ["manager"]
    actions = None

    def has_add_permission(self, request):
        return super().has_add_permission(request) and policies.can_edit_warehouses(request.user)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and policies.can_edit_warehouses(request.user)

    def has_delete_permission(self, request, obj=None):
        # Thresholds cascade, so the admin must refuse what the API refuses: deleting a used warehouse.
        return (super().has_delete_permission(request, obj) and policies.can_edit_warehouses(request.user)
                and (obj is None or not warehouse_in_use(obj)))

    def save_model(self, request, obj, form, change):
        # Through the services, so admin edits are audited like API edits.
        fields = [f for f in services.FIELDS if f in form.cleaned_data]
        if change:
            changes = {f: form.cleaned_data[f] for f in fields if f in form.changed_data}
            services.update_warehouse(actor=request.user, warehouse=obj, ip=client_ip(request), **changes)
        else:
            created = services.create_warehouse(actor=request.user, ip=client_ip(request),
                                                 **{f: form.cleaned_data[f] for f in fields})
            obj.pk, obj.created_at, obj.updated_at = created.pk, created.created_at, created.updated_at

    def delete_model(self, request, obj):
        services.delete_warehouse(actor=request.user, warehouse=obj, ip=client_ip(request))


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
            staffing.record_admin_user_change(actor=request.user, user=obj, fields=fields, created=not change,
                                              ip=client_ip(request))
