"""Throttles: writes per user, anonymous auth endpoints per IP, the logins (API and admin) per username and
the password-reset request per e-mail address.

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

from .http import client_ip
from .identity import identity_key


def client_ident(request) -> str:
    """The throttles' identity of a request: the client address of `core.http.client_ip` (one rule)."""
    return client_ip(request) or ""


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


class IdentityThrottle(ThrottleMixin, SimpleRateThrottle):
    """Per-identity throttle (rate `auth_username`): many addresses aiming at one account. The value of
    `field` in the body is compared by identity key (NFKC + casefold), hashed into the cache key, so
    width and case variants share one budget; a body without it is not counted here."""

    scope = "auth_username"
    field = "username"

    def get_cache_key(self, request, view):
        value = _body_value(request, self.field)
        key = identity_key(value) if isinstance(value, str) else ""
        if not key:
            return None
        # Hashed: the key stays short and printable whatever the client sent.
        digest = hashlib.sha256(f"{self.field}:{key}".encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}


class UsernameThrottle(IdentityThrottle):
    """Per-username throttle for the API login and the admin login (one shared budget per username)."""

    field = "username"


class ResetEmailThrottle(IdentityThrottle):
    """Per-address throttle for the password-reset request: one mailbox cannot be flooded with links."""

    field = "email"


def _body_value(request, field: str):
    """`field` of a DRF request's parsed body (JSON) or of a Django request's form; None if absent."""
    data = getattr(request, "data", None)
    if data is None:
        data = request.POST
    return data.get(field) if hasattr(data, "get") else None


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
