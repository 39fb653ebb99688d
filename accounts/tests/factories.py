"""Factories for every accounts model."""

import factory

from accounts.models import AuditEvent, ManagerPromotionRequest, Role, User, UserProfile

PASSWORD = "Str0ng-pass-phrase!"


class UserFactory(factory.django.DjangoModelFactory):
    """An active viewer by default; traits `admin`, `manager`, `staff`, `viewer` pick the role."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    status = User.Status.ACTIVE
    role = factory.LazyFunction(lambda: Role.get(Role.Name.VIEWER))
    password = factory.django.Password(PASSWORD)

    class Params:
        admin = factory.Trait(role=factory.LazyFunction(lambda: Role.get(Role.Name.ADMIN)), is_staff=True)
        manager = factory.Trait(role=factory.LazyFunction(lambda: Role.get(Role.Name.MANAGER)))
        staff = factory.Trait(role=factory.LazyFunction(lambda: Role.get(Role.Name.STAFF)))
        viewer = factory.Trait(role=factory.LazyFunction(lambda: Role.get(Role.Name.VIEWER)))


class UserProfileFactory(factory.django.DjangoModelFactory):
    """Contact details of a (new) user."""

    class Meta:
        model = UserProfile
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)
    phone = "+49 30 1234567"
    bio = "Works here."


class AuditEventFactory(factory.django.DjangoModelFactory):
    """One audit event made by a (new) user about themselves."""

    class Meta:
        model = AuditEvent

    actor = factory.SubFactory(UserFactory)
    action = "user.login"
    target = factory.LazyAttribute(lambda e: f"user:{e.actor.pk}")
    data = factory.Dict({})
    ip = "127.0.0.1"


class ManagerPromotionRequestFactory(factory.django.DjangoModelFactory):
    """A pending request to promote a (new) staff member, made by a (new) manager."""

    class Meta:
        model = ManagerPromotionRequest

    user = factory.SubFactory(UserFactory, staff=True)
    requested_by = factory.SubFactory(UserFactory, manager=True)
    reason = "reliable"
