"""DRF permission classes of the request endpoints, each backed by a `workflows.policies` predicate."""

from accounts.permissions import IsActiveUser, ReadOnly, policy_permission

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
    "CanCancelTransfer", obj=policies.can_cancel_transfer,
    doc="An admin; the requester while pending (the destination's manager for a reorder rule's pending transfer).")


# Counts: the list and opening ask the role gate; on one count the view finds it in the caller's scope
# (404, also for a viewer), then asks the object policy (403). The services ask again under the row lock.
CanCount = policy_permission("CanCount", user=policies.may_count_somewhere,
                             doc="Lists and opens stock counts (admin; manager and staff, in their warehouses).")
CanCountThis = policy_permission(
    "CanCountThis", obj=lambda user, count: policies.can_count(user, count.warehouse),
    doc="Reads, counts and submits this count (admin; manager and staff of its warehouse).")
CanDecideCount = policy_permission(
    "CanDecideCount", obj=policies.can_decide_count,
    doc="Approves or rejects this count (admin; the warehouse's manager; never its submitter).")
CanCancelCount = policy_permission(
    "CanCancelCount", obj=policies.can_cancel_count, doc="Cancels this count (its creator, the manager, an admin).")

COUNT_PERMISSIONS = [IsActiveUser & CanCount]
COUNT_OBJECT_PERMISSIONS = [IsActiveUser & CanCountThis]
COUNT_DECISION_PERMISSIONS = [IsActiveUser & CanDecideCount]
COUNT_CANCEL_PERMISSIONS = [IsActiveUser & CanCancelCount]


# Reorder rules: the list and each rule need a role that operates some warehouse (viewers 403); one rule is
# found in the caller's scope (404); writing it needs an admin or the warehouse's manager (403 for its staff).
CanReadRules = policy_permission("CanReadRules", user=policies.may_read_rules,
                                 doc="Reads reorder rules (admin; manager and staff, of their warehouses).")
# No role gate of its own for writes: staff and the other warehouses' people find a rule in their scope or not
# (404) before the object policy answers (403); a create is refused by the service (403).
CanEditRules = policy_permission(
    "CanEditRules", obj=policies.can_edit_rule,
    doc="Creates, changes, deletes and evaluates reorder rules (admin; the warehouse's manager).")

RULE_PERMISSIONS = [IsActiveUser & CanReadRules & (ReadOnly | CanEditRules)]
