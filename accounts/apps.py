from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, roles, profiles, audit events and the staff lifecycle."""

    name = "accounts"
