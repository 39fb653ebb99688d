"""Password change and reset (SPEC §3): Django's token generator, the e-mail sent by the task worker."""

from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from core.errors import PermissionDenied
from core.identity import identity_key

from .. import policies, roles
from ..audit import record_event
from ..errors import InvalidResetToken, WrongPassword
from ..models import User
from ..tasks import send_password_reset_email
from .auth import blacklist_all_tokens
from .locks import lock_user


@transaction.atomic
def change_password(*, user: User, old_password: str, new_password: str, ip: str | None = None) -> int:
    """Set a new password after checking the current one; every refresh token of the user is blacklisted.

    Locks the user row. Expects `new_password` to have passed the password validators. Raises
    PermissionDenied (403) unless `policies.can_change_own_password`, WrongPassword (400 `invalid`)
    when `old_password` is wrong (checked again under the lock), NotFound (404) when the user is gone.
    Returns how many refresh tokens were revoked.
    """
    target = lock_user(user.pk)
    if not policies.can_change_own_password(target):
        raise PermissionDenied("Only an active user may change their password.")
    if not target.check_password(old_password):
        raise WrongPassword()
    return _replace_password(target, new_password, action="user.password_change", ip=ip)


def _replace_password(user: User, new_password: str, *, action: str, ip: str | None) -> int:
    """Store the new password, end every session (refresh tokens blacklisted), audit; returns the revoked count."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    revoked = blacklist_all_tokens(user=user)
    record_event(actor=user, action=action, target=user, data={"revoked_tokens": revoked}, ip=ip)
    return revoked


def find_user_by_email(email: str) -> User | None:
    """The account holding `email` (compared by identity key: NFKC + casefold), or None."""
    key = identity_key(email)
    if not key:
        return None
    return User.objects.filter(email_key=key).select_related("role").first()


@transaction.atomic
def request_password_reset(*, email: str, ip: str | None = None) -> None:
    """Enqueue the reset e-mail of the active account holding `email`; do nothing visible otherwise.

    Takes no locks. Never raises for an unknown or inactive address (no account enumeration: the
    caller answers the same either way). The token and the link are made by the worker
    (`accounts.tasks.send_password_reset_email`), so the request does the same work for every address
    except for one queued row, and nothing is sent if this transaction rolls back.
    """
    user = find_user_by_email(email)
    if user is None or not roles.is_active(user):
        return
    send_password_reset_email.enqueue(user_id=user.pk)
    record_event(actor=None, action="user.password_reset_request", target=user, ip=ip)


def user_for_reset_token(uid: str, token: str) -> User:
    """The active user a reset link (`uid`, `token`) is for; InvalidResetToken (400) otherwise."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        raise InvalidResetToken() from None
    user = User.objects.filter(pk=pk).select_related("role").first()
    if user is None or not policies.can_change_own_password(user):
        raise InvalidResetToken()
    if not default_token_generator.check_token(user, token):
        raise InvalidResetToken()
    return user


@transaction.atomic
def reset_password(*, uid: str, token: str, new_password: str, ip: str | None = None) -> User:
    """Set a new password from a reset link; the link then stops working and every refresh token is blacklisted.

    Locks the user row and checks the token again under it, so of two concurrent uses of one link
    exactly one succeeds (the token is derived from the password hash, which the first one changes).
    Expects `new_password` to have passed the validators. Raises InvalidResetToken (400
    `invalid_token`) for a malformed, expired (PASSWORD_RESET_TIMEOUT) or used link, or an inactive user.
    """
    user = user_for_reset_token(uid, token)
    target = lock_user(user.pk)
    if not policies.can_change_own_password(target) or not default_token_generator.check_token(target, token):
        raise InvalidResetToken()
    _replace_password(target, new_password, action="user.password_reset", ip=ip)
    return target
