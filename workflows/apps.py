from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    """Purchase requests, transfer requests and manager promotions."""

    name = "workflows"
