"""Webhooks' error codes and domain errors."""

from core.errors import Code, DomainError, register_codes

CODES = register_codes({
    "url_not_allowed": Code(400, "a webhook URL is not https (or an allowed http host), or resolves to a "
                                 "private, loopback, link-local, multicast or reserved address"),
    "webhooks_not_configured": Code(503, "WEBHOOK_ENCRYPTION_KEYS is missing or wrong (DEBUG off): no secret "
                                         "can be stored or read"),
})


class UrlNotAllowed(DomainError):
    code = "url_not_allowed"
    default_detail = "Deliveries may not go to this URL."


class WebhooksNotConfigured(DomainError):
    code = "webhooks_not_configured"
    default_detail = "Webhooks need WEBHOOK_ENCRYPTION_KEYS to be set."
