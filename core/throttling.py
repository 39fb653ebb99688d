"""Throttles: writes per user, anonymous auth endpoints per IP (rates from the environment)."""

from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle


class SettingsRatesMixin:
    """Read the rates from the settings on each use (DRF copies them once, at import time)."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class UserWriteThrottle(SettingsRatesMixin, UserRateThrottle):
    """Throttle unsafe methods per user (per IP when anonymous)."""

    scope = "user_write"

    def allow_request(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)


class AuthThrottle(SettingsRatesMixin, ScopedRateThrottle):
    """Per-IP throttle for register, login and refresh."""

    scope_attr = "throttle_scope"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
