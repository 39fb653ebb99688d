from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares: domain errors, the error envelope, strict input, filters, idempotency, pagination."""

    name = "core"
    verbose_name = "Core"

    def ready(self):
        from . import serializers  # noqa: F401  (registers the strict-body OpenAPI extension)
