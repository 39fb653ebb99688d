"""Promotion services: a manager or admin asks for a staff member to become manager; an admin decides."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import record_event
from accounts.models import Role, User
from core.errors import AlreadyPending, DomainError, NotPending, PermissionDenied
from workflows.models import Decision, ManagerPromotionRequest, RequestStatus


class NotEligible(DomainError):
    code = "not_eligible"
    default_detail = "Only an active staff member can be promoted."


def _is_active_staff(user: User) -> bool:
    return user.status == User.Status.ACTIVE and user.is_staff_member


@transaction.atomic
def request_staff_promotion(*, actor: User, user: User, reason: str, ip: str | None = None) -> ManagerPromotionRequest:
    """Open a pending promotion request for an active staff member.

    Locks the staff member's row. Raises PermissionDenied (403) unless the actor is an admin or the
    manager of the staff member's warehouse, NotEligible (400) when the user is not active staff,
    AlreadyPending (409) when a pending request exists (also when a concurrent request wins the race
    on the partial unique constraint).
    """
    target = User.objects.select_for_update(of=("self",)).select_related("role", "warehouse").get(pk=user.pk)
    if not (actor.is_admin or actor.is_manager):
        raise PermissionDenied("Only a manager or an admin may request a promotion.")
    if not _is_active_staff(target):
        raise NotEligible()
    if actor.is_manager and (target.warehouse is None or target.warehouse.manager_id != actor.pk):
        raise PermissionDenied("You may only request promotions for staff of your warehouses.")
    if ManagerPromotionRequest.objects.filter(user=target, status=RequestStatus.PENDING).exists():
        raise AlreadyPending("A promotion request for this user is already pending.")
    try:
        with transaction.atomic():
            promotion = ManagerPromotionRequest.objects.create(user=target, requested_by=actor, reason=reason)
    except IntegrityError as exc:
        raise AlreadyPending("A promotion request for this user is already pending.") from exc
    record_event(actor=actor, action="promotion.request", target=promotion, data={"user": target.pk, "reason": reason},
                 ip=ip)
    return promotion


@transaction.atomic
def decide_promotion_request(*, actor: User, promotion_id: int, decision: str, reason: str = "",
                             ip: str | None = None) -> ManagerPromotionRequest:
    """Approve (the user's role becomes manager) or reject a pending promotion request.

    Locks the request row, then the user's row. Raises PermissionDenied (403) unless the actor is an
    admin, NotPending (409) when already decided, NotEligible (400) when approving a user who is no
    longer active staff. The user keeps `warehouse` as the warehouse they last belonged to.
    """
    if not actor.is_admin:
        raise PermissionDenied("Only an admin may decide promotion requests.")
    promotion = ManagerPromotionRequest.objects.select_for_update().get(pk=promotion_id)
    if promotion.status != RequestStatus.PENDING:
        raise NotPending()
    target = User.objects.select_for_update(of=("self",)).select_related("role").get(pk=promotion.user_id)
    if decision == Decision.APPROVE:
        if not _is_active_staff(target):
            raise NotEligible("This user is no longer active staff; reject the request instead.")
        target.role = Role.get(Role.Name.MANAGER)
        target.save(update_fields=["role"])
        promotion.status = RequestStatus.APPROVED
    else:
        promotion.status = RequestStatus.REJECTED
    promotion.decided_by = actor
    promotion.decided_at = timezone.now()
    promotion.decision_reason = reason
    promotion.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    record_event(actor=actor, action=f"promotion.{decision}", target=promotion,
                 data={"user": target.pk, "reason": reason}, ip=ip)
    return promotion
