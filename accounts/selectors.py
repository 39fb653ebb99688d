"""Read side of accounts: which users and audit events a user may see."""

from django.db.models import Q, QuerySet

from .models import AuditEvent, Role, User


def users_visible_to(user: User) -> QuerySet[User]:
    """Admin: everyone. Manager: staff of their warehouses (any status) and pending viewer registrations."""
    base = User.objects.select_related("role")
    if not user or user.status != User.Status.ACTIVE:
        return base.none()
    if user.is_admin:
        return base.all()
    if user.is_manager:
        return base.filter(
            Q(role__name=Role.Name.STAFF, warehouse__manager_id=user.pk)
            | Q(role__name=Role.Name.VIEWER, status=User.Status.PENDING)
        )
    return base.none()


def audit_events_visible_to(user: User) -> QuerySet[AuditEvent]:
    """Admin only: every event, newest first."""
    if not user or user.status != User.Status.ACTIVE or not user.is_admin:
        return AuditEvent.objects.none()
    return AuditEvent.objects.order_by("-created_at", "-id")
