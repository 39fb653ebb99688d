"""DRF permission classes of the webhooks API, built from `webhooks.policies`."""

from accounts.permissions import IsActiveUser, policy_permission

from . import policies

CanManageWebhooks = policy_permission(
    "CanManageWebhooks", user=policies.can_manage_webhooks, obj=policies.can_act_on_endpoint,
    doc="Manages webhook endpoints (admin: all; manager: their own).",
)

WEBHOOK_PERMISSIONS = [IsActiveUser & CanManageWebhooks]
