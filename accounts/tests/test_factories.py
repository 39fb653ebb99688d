"""The accounts factories build valid rows (every model has one)."""

from accounts.models import Role, User
from accounts.tests.factories import (
    PASSWORD,
    AuditEventFactory,
    ManagerPromotionRequestFactory,
    UserFactory,
    UserProfileFactory,
)
from core.decisions import RequestStatus


def test_user_factory_makes_an_active_viewer_who_can_log_in(db):
    user = UserFactory()
    assert user.status == User.Status.ACTIVE and user.is_active
    assert user.role.name == Role.Name.VIEWER
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


def test_profile_audit_and_promotion_factories(db):
    profile = UserProfileFactory()
    assert profile.user.profile == profile
    event = AuditEventFactory()
    assert event.target == f"user:{event.actor.pk}"
    promotion = ManagerPromotionRequestFactory()
    assert promotion.status == RequestStatus.PENDING
    assert promotion.user.role.name == Role.Name.STAFF
    assert promotion.requested_by.role.name == Role.Name.MANAGER
