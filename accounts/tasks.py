"""Background tasks of accounts: the password-reset e-mail and the e-mail-change notice (Django's task
API, database backend).

`services.request_password_reset` enqueues `send_password_reset_email` in its transaction; the worker
(`python manage.py db_worker`) makes the token and sends the link after the commit, so the request
itself never talks to the mail server. Settings: `SITE_URL` (prefix of the link), `DEFAULT_FROM_EMAIL`,
`PASSWORD_RESET_TIMEOUT` (how long the link works).
"""

import logging

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tasks import task

from core.mail import retry_later

from . import roles
from .models import User

logger = logging.getLogger(__name__)


def reset_link(user: User) -> str:
    """`{SITE_URL}/reset-password?uid=<uid>&token=<token>` for `user`, valid until its password changes."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return f"{getattr(settings, 'SITE_URL', '').rstrip('/')}/reset-password?uid={uid}&token={token}"


@task()
def send_password_reset_email(user_id: int, attempt: int = 1) -> str:
    """Send the reset link to an active user's e-mail address. Returns "sent", "retrying", "failed" or why
    it did nothing.

    An SMTP or network error (`OSError`) enqueues the next attempt after a back-off (`core.mail`, as the
    alert e-mails), each with a fresh link; past the last attempt it gives up ("failed", logged).
    """
    user = User.objects.select_related("role").filter(pk=user_id).first()
    if user is None or not roles.is_active(user) or not user.email:
        logger.info("password reset for user %s skipped: no active account with an e-mail", user_id)
        return "skipped"
    context = {
        "user": user,
        "link": reset_link(user),
        "minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
    }
    message = EmailMessage(
        subject="Reset your inventory password",
        body=render_to_string("accounts/email/password_reset.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
    )
    try:
        message.send()
    except OSError as exc:
        return retry_later(send_password_reset_email, attempt=attempt, error=exc, user_id=user_id)
    logger.info("password-reset e-mail sent to user %s", user_id)
    return "sent"


@task()
def send_email_change_notice(user_id: int, old_email: str, attempt: int = 1) -> str:
    """Tell the address an account used to have that its e-mail was changed. Returns "sent", "retrying",
    "failed" or "skipped".

    Sent to the old address whatever the account's state now: its owner must hear of a takeover. The new
    address is not named (it may be an attacker's). An SMTP or network error retries as the reset does.
    """
    user = User.objects.filter(pk=user_id).first()
    if user is None or not old_email:
        return "skipped"
    message = EmailMessage(
        subject="The e-mail address of your inventory account was changed",
        body=render_to_string("accounts/email/email_changed.txt", {"user": user}),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[old_email],
    )
    try:
        message.send()
    except OSError as exc:
        return retry_later(send_email_change_notice, attempt=attempt, error=exc, user_id=user_id,
                           old_email=old_email)
    logger.info("e-mail-change notice sent for user %s", user_id)
    return "sent"
