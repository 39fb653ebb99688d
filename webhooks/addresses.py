"""Where deliveries may go (SPEC §16): https only (http to `WEBHOOK_ALLOW_HTTP_HOSTS`), and never into a
loopback, private, link-local, multicast or reserved network unless `WEBHOOK_ALLOW_PRIVATE_NETWORKS`.

Checked when a URL is saved (`check_url`) and again at every delivery (`resolve_for_delivery`), which
resolves the name ONCE, checks every address it got, and returns the one address the client must connect
to: the request goes to that IP with the name in the Host header and the TLS SNI, so a name that resolves
to a public address for the check and to 127.0.0.1 for the connection (DNS rebinding) cannot reach inside.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from .errors import UrlNotAllowed


@dataclass(frozen=True)
class Target:
    """A checked URL: the address to connect to, and the name to present (Host header, SNI)."""

    url: str  # the URL with the host replaced by `address`
    host: str  # the name as written (Host header, SNI, certificate check)
    host_header: str  # host[:port] as written
    address: str


def _allowed_http_hosts() -> set[str]:
    return {host.strip().lower() for host in getattr(settings, "WEBHOOK_ALLOW_HTTP_HOSTS", []) if host.strip()}


def _private_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", False))


def is_public(address: str) -> bool:
    """Not loopback, private, link-local, multicast, reserved or unspecified (IPv4-mapped IPv6 unwrapped)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved
                or ip.is_unspecified or not ip.is_global)


def _split(url: str):
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlNotAllowed("The URL is not valid.") from exc
    host = (parts.hostname or "").lower()
    if not host:
        raise UrlNotAllowed("The URL has no host.")
    if parts.username or parts.password:
        raise UrlNotAllowed("The URL may not carry a user name or password.")
    if parts.scheme == "https":
        pass
    elif parts.scheme == "http":
        if host not in _allowed_http_hosts():
            raise UrlNotAllowed(f"Deliveries go over https; http only to WEBHOOK_ALLOW_HTTP_HOSTS, not to {host}.")
    else:
        raise UrlNotAllowed("Deliveries go over https.")
    return parts, host, port or (443 if parts.scheme == "https" else 80)


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise UrlNotAllowed(f"The host {host} does not resolve.") from exc
    addresses = []
    for *_, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    if not addresses:
        raise UrlNotAllowed(f"The host {host} does not resolve.")
    return addresses


def _checked_addresses(host: str, port: int) -> list[str]:
    addresses = _resolve(host, port)
    if not _private_allowed():
        refused = [address for address in addresses if not is_public(address)]
        if refused:
            raise UrlNotAllowed(f"The host {host} resolves to an address that is not public ({refused[0]}).")
    return addresses


def check_url(url: str) -> None:
    """Raise UrlNotAllowed unless deliveries may go to `url` (scheme, host list, every resolved address)."""
    _, host, port = _split(url)
    _checked_addresses(host, port)


def resolve_for_delivery(url: str) -> Target:
    """Check `url` now and pin the address to connect to (raises UrlNotAllowed)."""
    parts, host, port = _split(url)
    address = _checked_addresses(host, port)[0]
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    pinned = parts._replace(netloc=netloc).geturl()
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return Target(url=pinned, host=host, host_header=host_header, address=address)
