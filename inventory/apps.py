from django.apps import AppConfig


class InventoryConfig(AppConfig):
    """Products, stock, the immutable ledger, thresholds and low-stock alerts."""

    name = "inventory"
