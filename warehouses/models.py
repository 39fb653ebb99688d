"""Warehouses and the one place that decides which of them a user may see or act on."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from accounts.models import Role
from accounts.roles import has_role, is_active
from core.identity import IdentityKeysMixin, IdentityKeysQuerySet


class WarehouseQuerySet(IdentityKeysQuerySet):
    """Scoped warehouse queries; `warehouses.policies` answers the same questions for one warehouse."""

    def for_user(self, user) -> "WarehouseQuerySet":
        """Warehouses a user may read: the whole catalogue, for every active user."""
        if not is_active(user):
            return self.none()
        return self.all()

    def operated_by(self, user) -> "WarehouseQuerySet":
        """Warehouses whose private data (ledger, requests, dashboards) a user may see and act in.

        Admin: all. Manager: the warehouses they manage. Staff: their own warehouse. Viewer: none.
        """
        if has_role(user, Role.Name.STAFF):
            return self.filter(pk=user.warehouse_id) if user.warehouse_id else self.none()
        return self.managed_by(user)

    def managed_by(self, user) -> "WarehouseQuerySet":
        """Warehouses a user may manage (assign stock, thresholds, staff): admin all, manager theirs."""
        if has_role(user, Role.Name.ADMIN):
            return self.all()
        if has_role(user, Role.Name.MANAGER):
            return self.filter(manager_id=user.pk)
        return self.none()


class Warehouse(IdentityKeysMixin, models.Model):
    """A physical site holding stock; `manager` is the manager in charge of it."""

    code = models.CharField(max_length=32)
    # core.identity.identity_key(code), filled by save(): codes are unique under NFKC + casefold.
    code_key = models.TextField(unique=True, editable=False)
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_warehouses",
    )
    is_active = models.BooleanField(default=True)
    # A submitted count whose every |difference| is at most this is applied without a second person (SPEC §12).
    count_tolerance = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    IDENTITY_KEYS = {"code_key": "code"}

    objects = WarehouseQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(Lower("code"), name="warehouse_code_ci_unique")]

    def __str__(self):
        return f"{self.code} — {self.name}"
