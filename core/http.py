"""Facts about the HTTP request that services record (they never see the request itself)."""


def client_ip(request) -> str | None:
    """The peer address; X-Forwarded-For is not trusted (set a proxy-aware middleware for that)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None
