"""Facts about the HTTP request that services record (they never see the request itself).

Who the client is has one rule, used by the audit events and the throttles alike: the peer address
(REMOTE_ADDR), unless TRUSTED_PROXY_COUNT (DRF's NUM_PROXIES) proxies are configured; then the address
the outermost trusted proxy saw, the N-th from the right of X-Forwarded-For. Anything further left was
written by the client and is never read. A value that is not an IP address falls back to the peer.
"""

import ipaddress

from rest_framework.settings import api_settings


def client_ip(request) -> str | None:
    """The client's address under the trusted-proxy rule above; None without a request or a peer."""
    if request is None:
        return None
    remote_addr = request.META.get("REMOTE_ADDR") or None
    num_proxies = api_settings.NUM_PROXIES or 0  # unset is 0: never trust a header the client can write
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if num_proxies <= 0 or not forwarded:
        return remote_addr
    addresses = [address.strip() for address in forwarded.split(",")]
    # Each trusted proxy appends the address it saw; anything further left was written by the client.
    candidate = addresses[-min(num_proxies, len(addresses))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote_addr
