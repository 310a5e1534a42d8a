"""Server addresses: which ones the inventory may hold and hand to a runner.

An address is a host name (RFC 1123, at most 253 characters, its last label starting with a
letter so that no name reads as a number such as ``2130706433`` or ``0x7f.1``) or an IP address
without a zone id. Loopback, link-local, unspecified, multicast and reserved addresses and cloud
metadata endpoints are refused, also in their IPv4-mapped (``::ffff:``), NAT64, IPv4-compatible
and 6to4 forms, unless the settings file allows them (``[inventory] allow_addresses``): an
inventory entry must not turn a deploy into a request to the bot's own host or its cloud's
credentials service. Host names are checked as written; what they resolve to is the DNS's word.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from bot.i18n import N_

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_HOST_NAME = 253
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_LAST_LABEL = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"(?:{_LABEL}\.)*{_LAST_LABEL}")

# Well-known metadata services: AWS (IPv4 and IPv6), AWS ECS tasks, Azure, Alibaba Cloud.
METADATA_IPS: frozenset[IPAddress] = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "168.63.129.16", "100.100.100.200"))
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "instance-data.ec2.internal"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")

LOOPBACK = N_("loopback")
LINK_LOCAL = N_("link-local")
METADATA = N_("cloud metadata")
UNSPECIFIED = N_("unspecified")
MULTICAST = N_("multicast")
RESERVED = N_("reserved")


def parse_address(raw: str) -> str | None:
    """The canonical form of a well-formed address (IPs compressed, names lower-cased), or None."""
    if len(raw) > MAX_HOST_NAME or not raw.isascii():
        return None
    if "%" in raw:  # an IPv6 zone id: free text the stdlib accepts, and nothing a server needs
        return None
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        pass
    return raw.lower() if _HOST_NAME.fullmatch(raw) else None


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries in a form that routes to it."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def _ip_kind(ip: IPAddress) -> str | None:
    if ip in METADATA_IPS:
        return METADATA
    if ip.is_loopback:
        return LOOPBACK
    if ip.is_link_local:
        return LINK_LOCAL
    if ip.is_unspecified:
        return UNSPECIFIED
    if ip.is_multicast:
        return MULTICAST
    if ip.is_reserved:
        return RESERVED
    return None


def _name_kind(name: str) -> str | None:
    if name == "localhost" or name.endswith(".localhost"):
        return LOOPBACK
    return METADATA if name in METADATA_NAMES else None


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Refused kinds of addresses, less what the settings file allows (networks and host names)."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    allowed_names: frozenset[str] = frozenset()

    def refusal(self, address: str) -> str | None:
        """Why the canonical ``address`` may not be used (a message id naming its kind), or None."""
        try:
            ip: IPAddress = ipaddress.ip_address(address)
        except ValueError:
            return None if address in self.allowed_names else _name_kind(address)
        ipv4 = _embedded_ipv4(ip)
        if self._allows(ip) or (ipv4 is not None and self._allows(ipv4)):
            return None
        return _ip_kind(ip if ipv4 is None else ipv4)

    def _allows(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.allowed_networks)


STRICT = AddressPolicy()
