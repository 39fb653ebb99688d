from django.apps import AppConfig


class ApiConfig(AppConfig):
    """Cross-cutting API plumbing: errors, pagination, throttles, idempotency keys."""

    name = "inventory_project.api"
    label = "api"
    verbose_name = "API plumbing"
