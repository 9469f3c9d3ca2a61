"""Which outbound URLs wom may fetch: SSRF protection for every configurable base URL, feed and webhook.

A URL is refused unless it is http(s), carries no credentials, and every address its host resolves to is
public. "Public" is decided on the address itself, after unwrapping IPv4-mapped and 6to4/Teredo forms,
because Python 3.11's `ipaddress` misses some cases (`::ffff:127.0.0.1` is not "loopback" there, and
100.64.0.0/10 is not "private"). Numeric spellings such as `2130706433`, `0177.0.0.1`, `127.1` and
`0x7f.1` are resolved by the system resolver to the address they mean and checked as such.

The operator may allow named private hosts (`host` or `host:port`) in the config file only; URLs set
through the API are always checked against the same list, never a wider one.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.errors import BlockedURLError

__all__ = ["BlockedURLError", "OutboundPolicy", "is_public_address"]

Resolver = Callable[[str, int], list[str]]

_EXTRA_BLOCKED = [
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host on Linux
        "100.64.0.0/10",  # carrier-grade NAT, not "private" to Python 3.11
        "192.0.0.0/24",  # IETF protocol assignments
        "198.18.0.0/15",  # benchmarking
        "fc00::/7",  # unique local
        "fe80::/10",  # link local
        "fec0::/10",  # deprecated site local
        "64:ff9b::/96",  # NAT64: embeds an IPv4 address
        "64:ff9b:1::/48",
    )
]


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in ipaddress.ip_network("64:ff9b::/96") or address in ipaddress.ip_network("::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(text: str) -> bool:
    """True when `text` is a globally routable unicast address (and whatever it embeds is too)."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    if (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    ):
        return False
    return not any(address in network for network in _EXTRA_BLOCKED if network.version == address.version)


def _system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise BlockedURLError(f"cannot resolve host {host!r} ({e}); check the URL") from e
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True)
class OutboundPolicy:
    """The operator's allowlist of private hosts (`host` or `host:port`, from the config file)."""

    allowed_private_hosts: frozenset[str] = frozenset()
    resolver: Resolver = _system_resolver

    @classmethod
    def from_hosts(cls, hosts: Iterable[str], resolver: Resolver | None = None) -> OutboundPolicy:
        cleaned = frozenset(host.strip().lower() for host in hosts if host.strip())
        return cls(cleaned, resolver or _system_resolver)

    def check(self, url: str) -> str:
        """Returns `url` when wom may fetch it; raises BlockedURLError naming the reason otherwise."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise BlockedURLError(
                f"refusing {parts.scheme or 'scheme-less'} URL {url!r}: only http and https are fetched"
            )
        if parts.username is not None or parts.password is not None:
            raise BlockedURLError(
                "refusing a URL with credentials in it; put secrets in environment variables"
            )
        host = (parts.hostname or "").lower()
        if not host:
            raise BlockedURLError(f"refusing URL {url!r}: it has no host")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as e:
            raise BlockedURLError(f"refusing URL {url!r}: {e}") from e
        if not self._allowed(host, port):
            self._checked(host, port, what=repr(url))
        return url

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for `host:port`, each one checked; the connection must use one of
        these, never a fresh lookup, or a name answering a public address first and an internal one next
        (DNS rebinding) would reach the internal one. Raises BlockedURLError."""
        host = host.lower().strip("[]")
        if self._allowed(host, port):
            return self.resolver(host, port)
        return self._checked(host, port, what=f"{host}:{port}")

    def _allowed(self, host: str, port: int) -> bool:
        return host in self.allowed_private_hosts or f"{host}:{port}" in self.allowed_private_hosts

    def _checked(self, host: str, port: int, *, what: str) -> list[str]:
        addresses = self.resolver(host, port)
        if not addresses:
            raise BlockedURLError(f"cannot resolve host {host!r}; check the URL")
        for address in addresses:
            if not is_public_address(address):
                raise BlockedURLError(
                    f"refusing {what}: {host} resolves to {address}, a private, loopback, link-local or "
                    f"reserved address; an operator can allow it in the config file: "
                    f'[collectors] allow_private_hosts = ["{host}:{port}"]'
                )
        return addresses
