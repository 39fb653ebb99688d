"""JWT authentication that re-reads the user (role and status) from the database on every request."""

from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings

from core import logs

from .models import User


class ActiveUserJWTAuthentication(JWTAuthentication):
    """Accept a token only while its user exists and is `active`; claims are never trusted for roles."""

    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise exceptions.AuthenticationFailed("Token contains no user.", code="token_not_valid") from exc
        user = User.objects.select_related("role").filter(**{api_settings.USER_ID_FIELD: user_id}).first()
        if user is None or user.status != User.Status.ACTIVE:
            raise exceptions.AuthenticationFailed("User is not active.", code="user_inactive")
        logs.user_id.set(user.pk)  # every log line of this request names its user
        return user
