"""Read side of accounts: which users, audit events and promotion requests a user may see."""

from django.db.models import Q, QuerySet

from . import policies, roles
from .models import AuditEvent, ManagerPromotionRequest, Role, User


def users_visible_to(user: User) -> QuerySet[User]:
    """Admin: everyone. Manager: staff of their warehouses (any status) and pending viewer registrations."""
    base = User.objects.select_related("role")
    if roles.is_admin(user):
        return base.all()
    if roles.is_manager(user):
        return base.filter(
            Q(role__name=Role.Name.STAFF, warehouse__manager_id=user.pk)
            | Q(role__name=Role.Name.VIEWER, status=User.Status.PENDING)
        )
    return base.none()


def audit_events_visible_to(user: User) -> QuerySet[AuditEvent]:
    """Admin only: every event, newest first."""
    if not policies.can_read_audit_trail(user):
        return AuditEvent.objects.none()
    return AuditEvent.objects.order_by("-created_at", "-id")


def promotion_requests_visible_to(user: User) -> QuerySet[ManagerPromotionRequest]:
    """Admin: all; manager: the requests they made; newest first."""
    return ManagerPromotionRequest.objects.for_user(user).order_by("-created_at", "-id")
