import factory

from accounts.models import Role, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    status = User.Status.ACTIVE
    role = factory.LazyFunction(lambda: Role.get(Role.Name.VIEWER))
    password = factory.PostGenerationMethodCall("set_password", "Str0ng-pass-phrase!")

    @factory.post_generation
    def _save(self, create, extracted, **kwargs):
        if create:
            self.save()

    class Params:
        admin = factory.Trait(role=factory.LazyFunction(lambda: Role.get(Role.Name.ADMIN)), is_staff=True)
        manager = factory.Trait(role=factory.LazyFunction(lambda: Role.get(Role.Name.MANAGER)))
        staff = factory.Trait(role=factory.LazyFunction(lambda: Role.get(Role.Name.STAFF)))
        viewer = factory.Trait(role=factory.LazyFunction(lambda: Role.get(Role.Name.VIEWER)))


PASSWORD = "Str0ng-pass-phrase!"
