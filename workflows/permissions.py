"""DRF permission classes of the request endpoints, each backed by a `workflows.policies` predicate."""

from accounts.permissions import policy_permission

from . import policies

CanRequestPurchases = policy_permission(
    "CanRequestPurchases", user=policies.can_request_purchases, doc="Viewers create purchase requests.")
CanRequestTransfers = policy_permission(
    "CanRequestTransfers", user=policies.can_request_transfers, doc="Admins and managers create transfer requests.")
# Object checks: the view looks the request up in the caller's scope (404), then asks these (403).
CanDecidePurchase = policy_permission(
    "CanDecidePurchase", obj=policies.can_decide_purchase,
    doc="An admin, or the manager or staff of the purchase request's warehouse.")
CanCancelPurchase = policy_permission(
    "CanCancelPurchase", obj=policies.can_cancel_purchase, doc="The requester of the purchase request.")
CanDecideTransfer = policy_permission(
    "CanDecideTransfer", obj=policies.can_decide_transfer, doc="An admin.")
CanShip = policy_permission(
    "CanShip", obj=policies.can_ship, doc="An admin, or the manager or staff of the transfer's source.")
CanReceive = policy_permission(
    "CanReceive", obj=policies.can_receive, doc="An admin, or the manager or staff of the transfer's destination.")
CanClose = policy_permission(
    "CanClose", obj=policies.can_close, doc="An admin, or the manager of the transfer's destination.")
CanCancelTransfer = policy_permission(
    "CanCancelTransfer", obj=policies.can_cancel_transfer, doc="An admin; the requester while pending.")
