from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    """Purchase requests and transfer requests (with their lines, shipping and receiving), counts, reorder rules."""

    name = "workflows"

    def ready(self):
        # Transfers hold units in two stock buckets; the ledger check (a lower layer) learns of them here.
        from inventory.switch_guards import register_open_count_products
        from inventory.verification import register_bucket_source

        from .selectors import incoming_by_transfers, open_count_products, reserved_by_transfers

        register_bucket_source("reserved", reserved_by_transfers)
        register_bucket_source("incoming", incoming_by_transfers)

        # Replenishment (SPEC §15): evaluated in the transaction of every stock change, and hourly by the worker.
        from core.events import subscribe
        from core.worker import WorkerStarted
        from inventory.events import StockChanged

        from .services.replenishment import replenish_on_stock_change, schedule_replenishment

        subscribe(StockChanged, replenish_on_stock_change)
        subscribe(WorkerStarted, schedule_replenishment)

        # A tracking switch (SPEC §14) refuses a product on an open or submitted count.
        register_open_count_products(open_count_products)
