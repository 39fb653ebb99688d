from django.apps import AppConfig


class InventoryConfig(AppConfig):
    """Products, stock, the immutable ledger, reservations, thresholds and low-stock alerts."""

    name = "inventory"

    def ready(self):
        from core.events import subscribe
        from core.metrics import register_figures
        from core.worker import WorkerStarted

        from .alerts import open_or_resolve_alerts
        from .events import StockChanged
        from .expiry_alerts import open_or_resolve_expiry_alerts
        from .expiry_checks import schedule_expiry_checks
        from .figures import inventory_figures
        from .rollups import schedule_closing

        subscribe(StockChanged, open_or_resolve_alerts)
        subscribe(StockChanged, open_or_resolve_expiry_alerts)
        subscribe(WorkerStarted, schedule_closing)
        subscribe(WorkerStarted, schedule_expiry_checks)
        register_figures(inventory_figures)
