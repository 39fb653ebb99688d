"""Shared Django admin base classes."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible to admins, never added, changed or deleted here (history, balances, decided requests)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
