"""The e-mail to an endpoint's owner when the worker disables a failing endpoint (the shared retry path of
`core.mail`, as every e-mail the worker sends)."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django_tasks import task

from core.mail import retry_later

from .models import WebhookEndpoint

logger = logging.getLogger(__name__)


@task()
def send_endpoint_disabled_email(endpoint_id: int, attempt: int = 1) -> str:
    """Tell the owner their endpoint was disabled because every delivery failed. Returns "sent", "retrying",
    "failed" or "skipped" (no endpoint, or an owner without an e-mail address)."""
    endpoint = WebhookEndpoint.objects.select_related("created_by").filter(pk=endpoint_id).first()
    if endpoint is None or not endpoint.created_by.email:
        return "skipped"
    context = {"endpoint": endpoint, "user": endpoint.created_by, "site_url": getattr(settings, "SITE_URL", "")}
    message = EmailMessage(
        subject=f"Webhook endpoint {endpoint.pk} was disabled",
        body=render_to_string("webhooks/email/endpoint_disabled.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[endpoint.created_by.email],
    )
    try:
        message.send()
    except OSError as exc:
        return retry_later(send_endpoint_disabled_email, attempt=attempt, error=exc, endpoint_id=endpoint_id)
    logger.info("owner of webhook endpoint %s told it was disabled", endpoint_id)
    return "sent"
