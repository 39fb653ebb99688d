"""JWT authentication that re-reads the user (role and status) from the database on every request."""

from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from core import logs

from .models import User

_MAX_ID = 2**63 - 1


def _user_pk(value) -> int | None:
    """The token's user id as a primary key, or None when it is not one (a string, list, object, bool …)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and 0 < value <= _MAX_ID:
        return value
    return None


class ActiveUserJWTAuthentication(JWTAuthentication):
    """Accept a token only while its user exists and is `active` and its password is the one the token was
    issued under; claims are never trusted for roles."""

    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise exceptions.AuthenticationFailed("Token contains no user.", code="token_not_valid") from exc
        pk = _user_pk(user_id)
        if pk is None:
            raise exceptions.AuthenticationFailed("Token contains no valid user.", code="token_not_valid")
        user = User.objects.select_related("role").filter(**{api_settings.USER_ID_FIELD: pk}).first()
        if user is None or user.status != User.Status.ACTIVE:
            raise exceptions.AuthenticationFailed("User is not active.", code="user_inactive")
        # simplejwt's CHECK_REVOKE_TOKEN claim: a digest of the password hash when the token was issued. A
        # password change or reset changes the hash, so every token issued before stops working at once;
        # compared with the row read above (no extra query).
        if validated_token.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
            raise exceptions.AuthenticationFailed("The password was changed; log in again.", code="token_not_valid")
        logs.user_id.set(user.pk)  # every log line of this request names its user
        return user
