from django.apps import AppConfig


class InventoryConfig(AppConfig):
    """Products, stock, the immutable ledger, reservations, thresholds and low-stock alerts."""

    name = "inventory"

    def ready(self):
        from core.events import subscribe

        from .alerts import open_or_resolve_alerts
        from .events import StockChanged

        subscribe(StockChanged, open_or_resolve_alerts)
