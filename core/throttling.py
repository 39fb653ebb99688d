"""Throttles: writes per user, anonymous auth endpoints per IP, the admin login per IP and per username.

The counters live in the shared cache (settings.CACHES), so a rate holds across every worker process.
A client is identified by the peer address (REMOTE_ADDR); X-Forwarded-For is read only when
TRUSTED_PROXY_COUNT proxies are configured, and then only the address the nearest trusted proxy saw.
"""

import hashlib
from functools import wraps
from types import SimpleNamespace

from django.http import HttpResponse
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle, UserRateThrottle


def client_ident(request) -> str:
    """The throttles' identity of a request: the peer address, or the trusted proxies' view of the client."""
    remote_addr = request.META.get("REMOTE_ADDR") or ""
    num_proxies = api_settings.NUM_PROXIES or 0  # unset is 0: never trust a header the client can write
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if num_proxies <= 0 or not forwarded:
        return remote_addr
    addresses = [address.strip() for address in forwarded.split(",")]
    # Each trusted proxy appends the address it saw; anything further left was written by the client.
    return addresses[-min(num_proxies, len(addresses))] or remote_addr


class ThrottleMixin:
    """Rates read from the settings on each use (DRF copies them once, at import); the peer as identity."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_ident(request)


class UserWriteThrottle(ThrottleMixin, UserRateThrottle):
    """Throttle unsafe methods per user (per IP when anonymous)."""

    scope = "user_write"

    def allow_request(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)


class AuthThrottle(ThrottleMixin, ScopedRateThrottle):
    """Per-IP throttle for register, login and refresh (and, sharing its counter, the admin login)."""

    scope_attr = "throttle_scope"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UsernameThrottle(ThrottleMixin, SimpleRateThrottle):
    """Per-username throttle for the admin login: many addresses guessing one account's password."""

    scope = "auth_username"

    def get_cache_key(self, request, view):
        username = (request.POST.get("username") or "").strip().casefold()
        if not username:
            return None
        # Hashed: the key stays short and printable whatever the client sent.
        return self.cache_format % {"scope": self.scope, "ident": hashlib.sha256(username.encode()).hexdigest()}


_AUTH_VIEW = SimpleNamespace(throttle_scope="auth")


def throttle_admin_login(login_view):
    """Wrap the admin site's login view: a POST over the per-IP (shared with the API) or per-username
    limit answers 429 before any password is checked."""

    @wraps(login_view)
    def view(request, *args, **kwargs):
        if request.method == "POST":
            for throttle in (AuthThrottle(), UsernameThrottle()):
                if not throttle.allow_request(request, _AUTH_VIEW):
                    wait = max(int(throttle.wait() or 0), 1)
                    response = HttpResponse(f"Too many login attempts. Try again in {wait} seconds.\n",
                                            status=429, content_type="text/plain; charset=utf-8")
                    response["Retry-After"] = str(wait)
                    return response
        return login_view(request, *args, **kwargs)

    return view
