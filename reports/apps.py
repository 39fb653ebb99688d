from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Read side only: selectors and views over the ledger, no models of its own."""

    name = "reports"
