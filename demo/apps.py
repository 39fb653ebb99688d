from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data (`manage.py seed_demo`): top layer, beside the read side, no models of its own."""

    name = "demo"
