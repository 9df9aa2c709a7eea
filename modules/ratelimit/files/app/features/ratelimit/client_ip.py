"""Which client a request comes from, for counting: an address a client cannot choose.

The socket's peer is the client, unless it is a trusted proxy
(`RATELIMIT_TRUSTED_PROXIES`): then the proxy header (`RATELIMIT_PROXY_HEADER`) is
read from the right, each hop appended by the proxy before it, skipping the trusted
ones; the first address not trusted is the client. Anything left of it was written by
the client itself and is never believed. An entry that is not an address (garbage,
`unknown`, an obfuscated `_hidden`) stops the walk at the last trusted hop, so a
forged header cannot buy a fresh count.

IPv6 clients are counted by network (`RATELIMIT_IPV6_PREFIX`, a /64 by default): a
host is handed a whole /64 and could pick a new address for every request.
"""

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.types import Scope

from app.features.ratelimit.config import UNIX, IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _forwarded_for(values: Iterable[str]) -> list[str]:
    """The `for=` of each element of `Forwarded` headers (RFC 7239), in order; an
    element without one counts as an unknown hop."""
    hops = []
    for value in values:
        for element in value.split(","):
            found = ""
            for pair in element.split(";"):
                name, _, token = pair.strip().partition("=")
                if name.strip().lower() == "for":
                    found = token.strip().strip('"')
            # `[2001:db8::1]:4711`, `192.0.2.1:80` -> the address alone.
            if found.startswith("["):
                found = found[1:].partition("]")[0]
            elif found.count(":") == 1:
                found = found.partition(":")[0]
            hops.append(found)
    return hops


class ClientAddress:
    """Finds the counting key of a request's client: `ip:203.0.113.9`,
    `ip:2001:db8:1:2::/64`."""

    def __init__(
        self,
        trusted: Sequence[IPNetwork | str],
        header: str = "X-Forwarded-For",
        ipv6_prefix: int = 64,
    ) -> None:
        self.networks = tuple(n for n in trusted if not isinstance(n, str))
        self.trust_unix = UNIX in trusted
        self.header = header.lower().encode("latin-1")
        self.forwarded = header.lower() == "forwarded"
        self.ipv6_prefix = ipv6_prefix

    def is_trusted(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)

    def _hops(self, scope: Scope) -> list[str]:
        values = [
            value.decode("latin-1")
            for name, value in scope["headers"]
            if name == self.header
        ]
        if self.forwarded:
            return _forwarded_for(values)
        return [hop for value in values for hop in value.split(",")]

    def address(self, scope: Scope) -> IPAddress | str:
        """The client's address; `unix` or the peer as written when the peer has no
        address (a Unix socket, a test client) and is not a trusted proxy."""
        client = scope.get("client")
        peer_text = str(client[0]) if client else UNIX
        peer = _address(peer_text)
        if peer is None:
            if not (peer_text == UNIX and self.trust_unix):
                return peer_text
        elif not self.is_trusted(peer):
            return peer
        current: IPAddress | str = peer if peer is not None else peer_text
        for hop in reversed(self._hops(scope)):
            address = _address(hop)
            if address is None:
                break  # not an address: believe nothing further left
            current = address
            if not self.is_trusted(address):
                break
        return current

    def key(self, scope: Scope) -> str:
        address = self.address(scope)
        if isinstance(address, ipaddress.IPv6Address):
            network = ipaddress.IPv6Network((address, self.ipv6_prefix), strict=False)
            return f"ip:{network}"
        return f"ip:{address}"
