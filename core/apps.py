from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares: domain errors, the error envelope, strict input, filters, idempotency, pagination."""

    name = "core"
    verbose_name = "Core"

    def ready(self):
        from django.core.signals import request_finished

        from . import (
            logs,
            metrics,
            serializers,  # noqa: F401  (registers the strict-body OpenAPI extension)
        )

        request_finished.connect(logs.clear_context, dispatch_uid="core.logs.clear_context")
        metrics.install()
