from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """Read side only: selectors and views over the ledger, no models of its own."""

    name = "dashboards"
