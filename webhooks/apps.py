from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outbound webhooks (SPEC §16): endpoints, the event outbox, signed deliveries by the worker."""

    name = "webhooks"

    def ready(self):
        from django.core.signals import request_started

        from accounts.events import AccessChanged
        from core.events import subscribe
        from core.metrics import register_figures
        from core.worker import WorkerStarted
        from inventory.events import AlertChanged, ReservationChanged, StockChanged
        from workflows.events import PurchaseRequestChanged, StockCountChanged, TransferRequestChanged

        from .delivery import start_pump
        from .figures import webhook_figures
        from .listening import forget_on_request
        from .outbox import (
            record_alert_event,
            record_purchase_request_event,
            record_reservation_event,
            record_stock_changed,
            record_stock_count_event,
            record_transfer_request_event,
        )
        from .owners import deactivate_endpoints_of_lost_owner

        subscribe(StockChanged, record_stock_changed)
        subscribe(AlertChanged, record_alert_event)
        subscribe(ReservationChanged, record_reservation_event)
        subscribe(PurchaseRequestChanged, record_purchase_request_event)
        subscribe(TransferRequestChanged, record_transfer_request_event)
        subscribe(StockCountChanged, record_stock_count_event)
        subscribe(AccessChanged, deactivate_endpoints_of_lost_owner)
        subscribe(WorkerStarted, start_pump)
        register_figures(webhook_figures)
        # Each request reads the endpoints' filters afresh (in production it is a transaction of its own anyway;
        # under a test's enclosing transaction this keeps the per-request query counts honest).
        request_started.connect(forget_on_request, dispatch_uid="webhooks.listening.forget_on_request")
