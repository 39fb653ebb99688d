"""Workflow services: purchase and transfer requests and stock counts, decided and moved only through these
functions.

The public names are re-exported here, so callers import `from workflows.services import ...`.
"""

from inventory.errors import SameWarehouse

from ..errors import InvalidDecision
from .counts import FoundLot, cancel_count, decide_count, open_count, record_counts, submit_count
from .purchases import cancel_purchase_request, create_purchase_request, decide_purchase_request
from .reorder_rules import RULE_FIELDS, create_rule, delete_rule, evaluate_rule, update_rule
from .replenishment import evaluate_active_rules
from .transfers import (
    RECEIVABLE,
    cancel_transfer,
    close_transfer,
    create_transfer_request,
    decide_transfer_request,
    receive_transfer,
    ship_transfer,
)

__all__ = [
    "RECEIVABLE",
    "InvalidDecision", "SameWarehouse", "cancel_purchase_request", "cancel_transfer", "close_transfer",
    "create_purchase_request", "create_transfer_request", "decide_purchase_request", "decide_transfer_request",
    "receive_transfer", "ship_transfer", "FoundLot", "cancel_count", "decide_count", "open_count", "record_counts",
    "submit_count", "RULE_FIELDS", "create_rule", "delete_rule", "evaluate_active_rules", "evaluate_rule",
    "update_rule",
]
