"""Promotions: a manager or an admin asks for a staff member to become manager; an admin decides."""

from django.db import IntegrityError, transaction

from core.decisions import Decision, RequestStatus
from core.errors import AlreadyPending, NotEligible, NotFound, NotPending, PermissionDenied
from core.events import emit

from .. import policies
from ..audit import record_event
from ..events import AccessChanged
from ..models import ManagerPromotionRequest, Role, User
from .locks import lock_user

ALREADY_PENDING = "A promotion request for this user is already pending."


@transaction.atomic
def request_staff_promotion(*, actor: User, user: User, reason: str, ip: str | None = None) -> ManagerPromotionRequest:
    """Open a pending promotion request for an active staff member.

    Locks the staff member's row. Raises PermissionDenied (403) unless `policies.can_request_promotion`
    (admin; the manager of the staff member's warehouse), NotEligible (400) when the user is not active
    staff, AlreadyPending (409) when a pending request exists (also when a concurrent request wins the
    race on the partial unique constraint).
    """
    target = lock_user(user.pk)
    if not policies.can_request_promotions(actor):
        raise PermissionDenied("Only a manager or an admin may request a promotion.")
    if not policies.is_promotable(target):
        raise NotEligible("Only an active staff member can be promoted.")
    if not policies.can_request_promotion(actor, target):
        raise PermissionDenied("You may only request promotions for staff of your warehouses.")
    if ManagerPromotionRequest.objects.filter(user=target, status=RequestStatus.PENDING).exists():
        raise AlreadyPending(ALREADY_PENDING)
    try:
        with transaction.atomic():
            promotion = ManagerPromotionRequest.objects.create(user=target, requested_by=actor, reason=reason)
    except IntegrityError as exc:
        raise AlreadyPending(ALREADY_PENDING) from exc
    record_event(actor=actor, action="promotion.request", target=promotion, data={"user": target.pk, "reason": reason},
                 ip=ip)
    return promotion


@transaction.atomic
def decide_promotion_request(*, actor: User, promotion_id: int, decision: str, reason: str = "",
                             ip: str | None = None) -> ManagerPromotionRequest:
    """Approve (the user's role becomes manager) or reject a pending promotion request.

    Locks the request row, then the user's row. Raises PermissionDenied (403) unless
    `policies.can_decide_promotions` (admin), NotPending (409) when already decided, NotEligible (400)
    when approving a user who is no longer active staff. The user keeps `warehouse` as the warehouse
    they last belonged to.
    """
    if not policies.can_decide_promotions(actor):
        raise PermissionDenied("Only an admin may decide promotion requests.")
    promotion = ManagerPromotionRequest.objects.select_for_update().filter(pk=promotion_id).first()
    if promotion is None:
        raise NotFound("This promotion request no longer exists.")
    if not promotion.is_pending:
        raise NotPending()
    target = lock_user(promotion.user_id)
    if decision == Decision.APPROVE:
        if not policies.is_promotable(target):
            raise NotEligible("This user is no longer active staff; reject the request instead.")
        target.role = Role.get(Role.Name.MANAGER)
        target.save(update_fields=["role"])
        emit(AccessChanged(user=target))
        status = RequestStatus.APPROVED
    else:
        status = RequestStatus.REJECTED
    promotion.mark_decided(actor=actor, status=status, reason=reason)
    record_event(actor=actor, action=f"promotion.{decision}", target=promotion,
                 data={"user": target.pk, "reason": reason}, ip=ip)
    return promotion
