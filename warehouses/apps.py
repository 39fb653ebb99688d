from django.apps import AppConfig


class WarehousesConfig(AppConfig):
    """Warehouses and their per-user scoping."""

    name = "warehouses"
