from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, roles, profiles, audit events and the staff lifecycle."""

    name = "accounts"

    def ready(self):
        from . import schema  # noqa: F401  (registers the OpenAPI authentication extension)
