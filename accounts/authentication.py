"""JWT authentication that re-reads the user (role and status) from the database on every request."""

from django.db import router
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from core import logs
from core.compiled import CompiledRead

from .models import Role, User

_MAX_ID = 2**63 - 1
_USER_FIELDS = [field.attname for field in User._meta.concrete_fields]
_ROLE_FIELDS = [field.attname for field in Role._meta.concrete_fields]
# Every authenticated request reads its user and role again: compiled once per process (core/compiled.py; the
# ORM's compiling of this join cost more than the query itself, on every request).
_USER_WITH_ROLE = CompiledRead(lambda pk: User.objects.filter(**{api_settings.USER_ID_FIELD: pk}).values_list(
    *_USER_FIELDS, *(f"role__{name}" for name in _ROLE_FIELDS)))


def read_user(pk: int) -> User | None:
    """The user with this primary key and its role, as they are in the database now (one query), or None."""
    alias = router.db_for_read(User)
    rows = _USER_WITH_ROLE.rows(pk, using=alias)
    if not rows:
        return None
    split = len(_USER_FIELDS)
    user = User.from_db(alias, _USER_FIELDS, rows[0][:split])
    user.role = Role.from_db(alias, _ROLE_FIELDS, rows[0][split:])
    return user


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
        user = read_user(pk)
        if user is None or user.status != User.Status.ACTIVE:
            raise exceptions.AuthenticationFailed("User is not active.", code="user_inactive")
        # simplejwt's CHECK_REVOKE_TOKEN claim: a digest of the password hash when the token was issued. A
        # password change or reset changes the hash, so every token issued before stops working at once;
        # compared with the row read above (no extra query).
        if validated_token.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
            raise exceptions.AuthenticationFailed("The password was changed; log in again.", code="token_not_valid")
        logs.user_id.set(user.pk)  # every log line of this request names its user
        return user
