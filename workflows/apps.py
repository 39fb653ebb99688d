from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    """Purchase requests and transfer requests (with their lines, shipping and receiving)."""

    name = "workflows"

    def ready(self):
        # Transfers hold units in two stock buckets; the ledger check (a lower layer) learns of them here.
        from inventory.services import register_tracking_guard
        from inventory.verification import register_bucket_source

        from .selectors import count_line_blocks_tracking_switch, incoming_by_transfers, reserved_by_transfers

        register_bucket_source("reserved", reserved_by_transfers)
        register_bucket_source("incoming", incoming_by_transfers)
        # A product's tracking may not switch while an open or submitted count has a line for it (SPEC §14).
        register_tracking_guard(count_line_blocks_tracking_switch)
