"""An endpoint's owner who stops being an active admin or manager (dismissed, demoted, deactivated): their
endpoints are deactivated and their pending deliveries fail, in the transaction of that change (SPEC §16)."""

from django.utils import timezone

from accounts.events import AccessChanged
from accounts.roles import is_admin, is_manager

from . import listening
from .delivery import fail_pending
from .models import WebhookEndpoint


def deactivate_endpoints_of_lost_owner(event: AccessChanged) -> int:
    """Subscriber of `AccessChanged`: returns how many endpoints it deactivated.

    Locks: the user's active endpoints (after the user row, which the emitter holds). A manager who keeps
    the role but loses a warehouse keeps their endpoints: the scope is asked again before every attempt.
    """
    user = event.user
    if is_admin(user) or is_manager(user):
        return 0
    endpoints = list(WebhookEndpoint.objects.select_for_update().filter(created_by_id=user.pk)
                     .order_by("pk").values_list("pk", flat=True))
    if not endpoints:
        return 0
    changed = WebhookEndpoint.objects.filter(pk__in=endpoints, is_active=True).update(
        is_active=False, disabled_reason=WebhookEndpoint.DisabledReason.OWNER_CHANGED, updated_at=timezone.now())
    fail_pending(endpoint_ids=endpoints, error="The endpoint's owner is no longer an active admin or manager.")
    listening.forget()
    return changed
