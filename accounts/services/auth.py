"""Login, refresh tokens and logout (registration, which names a warehouse, is `warehouses.staffing`)."""

from django.contrib.auth.models import update_last_login
from django.db import transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from core.errors import PermissionDenied
from core.identity import identity_key

from ..audit import record_event
from ..errors import AccountNotActive, InvalidCredentials, InvalidToken, InvalidTokenInBody, NoActiveAccount
from ..models import User

# A password hash computed once, so a login for an unknown user costs as much as a real check.
_DUMMY_USER = User(username="__timing__")

_INACTIVE_CODES = {
    User.Status.PENDING: ("account_pending", "This account is awaiting approval."),
    User.Status.REJECTED: ("account_rejected", "This registration was rejected."),
    User.Status.DISMISSED: ("account_dismissed", "This account has been dismissed."),
}


@transaction.atomic
def login_user(*, username: str, password: str, ip: str | None = None) -> tuple[User, RefreshToken]:
    """Check credentials and issue a token pair.

    Takes no locks. Raises InvalidCredentials (401) for an unknown user or a wrong password (the
    hasher runs either way), AccountNotActive (403, `account_pending|rejected|dismissed`) for a right
    password on an account that may not log in.
    """
    user = User.objects.select_related("role").filter(username_key=identity_key(username)).first()
    if user is None:
        _DUMMY_USER.set_password(password)  # same cost as a real check; result ignored
        raise InvalidCredentials()
    if not user.check_password(password):
        raise InvalidCredentials()
    if user.status != User.Status.ACTIVE:
        code, detail = _INACTIVE_CODES.get(user.status, ("account_inactive", "This account is not active."))
        raise AccountNotActive(detail, code=code)
    refresh = RefreshToken.for_user(user)
    update_last_login(None, user)
    record_event(actor=user, action="user.login", target=user, ip=ip)
    return user, refresh


@transaction.atomic
def rotate_refresh_token(*, token: str) -> dict:
    """Exchange a refresh token for a new pair; the old one is blacklisted.

    Locks the token's OutstandingToken row so two concurrent uses of one token cannot both succeed.
    Raises InvalidToken (401) for a malformed, expired or blacklisted token, or an inactive user.
    """
    try:
        refresh = RefreshToken(token, verify=True)
    except TokenError as exc:
        raise InvalidToken(str(exc)) from exc
    jti = refresh.payload.get(jwt_settings.JTI_CLAIM)
    outstanding = OutstandingToken.objects.select_for_update(of=("self",)).filter(jti=jti).order_by("pk").first()
    if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
        raise InvalidToken("Token is blacklisted.")
    user = User.objects.filter(pk=refresh.payload.get(jwt_settings.USER_ID_CLAIM)).first()
    if user is None or user.status != User.Status.ACTIVE or outstanding.user_id != user.pk:
        raise NoActiveAccount()
    BlacklistedToken.objects.create(token=outstanding)
    new_refresh = RefreshToken.for_user(user)
    return {"access": str(new_refresh.access_token), "refresh": str(new_refresh)}


@transaction.atomic
def logout_user(*, user: User, token: str, ip: str | None = None) -> None:
    """Blacklist one of the user's own refresh tokens.

    Locks the token's OutstandingToken row. Raises InvalidTokenInBody (`token_not_valid`, 400) for a
    malformed or expired token and PermissionDenied (403) for a token that belongs to another user
    (it is left untouched).
    """
    try:
        refresh = RefreshToken(token, verify=True)
    except TokenError as exc:
        raise InvalidTokenInBody(str(exc)) from exc
    if str(refresh.payload.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise PermissionDenied("This refresh token belongs to another user.")
    jti = refresh.payload.get(jwt_settings.JTI_CLAIM)
    outstanding = OutstandingToken.objects.select_for_update(of=("self",)).filter(jti=jti).order_by("pk").first()
    if outstanding is None:
        raise InvalidTokenInBody("Unknown token.")
    BlacklistedToken.objects.get_or_create(token=outstanding)
    record_event(actor=user, action="user.logout", target=user, ip=ip)


def blacklist_all_tokens(*, user: User) -> int:
    """Blacklist every outstanding refresh token of a user; returns how many were added. Takes no locks."""
    pending = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    rows = [BlacklistedToken(token=t) for t in pending]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
