"""Host cloaking with HMAC-SHA256, layered so that one ban can cover an address range.

An IPv4 address a.b.c.d is shown as ``F.N24.N16.IP``: one segment keyed on the whole
address, one on its /24 and one on its /16 (the layout of UnrealIRCd's cloak_sha256).
Two addresses in the same /24 share the last two segments, so the ban
``*!*@*.N24.N16.IP`` covers the /24 and ``*!*@*.N16.IP`` the /16. IPv6 addresses use the
/64, /48 and /32 the same way: a /64 is what one subscriber usually gets, so privacy
addresses that rotate inside it keep one cloak.

Each segment is HMAC-SHA256(key, label || network), truncated to 50 bits and written in
base32: without the key nothing about the address can be recovered, even by trying all
2**32 IPv4 addresses (the audit's finding 3.4 against SHA-512-then-CRC32). The key comes
from the configuration, has a minimum length, and is never sent anywhere, not even as a
hash. The same key gives the same cloaks after a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from typing import Final

#: Shortest key accepted (characters); `secrets.token_urlsafe(48)` gives 64.
MIN_KEY_LENGTH: Final = 32
#: Characters per segment: 10 base32 characters hold 50 bits.
_SEGMENT: Final = 10
#: Domain separation, so a cloak of one layer can never equal one of another.
_LABEL: Final = b"packet-ircd cloak v1\x00"
_V4_LAYERS: Final = (32, 24, 16)
_V6_LAYERS: Final = (64, 48, 32)


class Cloaker:
    """Computes cloaked hosts with one key; create a new one when the key changes."""

    __slots__ = ("_key", "suffix")

    def __init__(self, key: str, suffix: str = "IP") -> None:
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(f"the cloak key must have at least {MIN_KEY_LENGTH} characters")
        self._key = key.encode()
        self.suffix = suffix

    def __repr__(self) -> str:
        return f"<Cloaker suffix={self.suffix!r}>"  # never the key

    def _segment(self, text: str) -> str:
        digest = hmac.new(self._key, _LABEL + text.encode(), hashlib.sha256).digest()
        return base64.b32encode(digest[:7]).decode()[:_SEGMENT]

    def cloak_ip(self, ip: str) -> str:
        """The cloak of an IP address; raises ValueError for anything else."""
        addr = ipaddress.ip_address(ip)
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        layers = _V4_LAYERS if addr.version == 4 else _V6_LAYERS
        parts = [
            self._segment(str(ipaddress.ip_network(f"{addr}/{bits}", strict=False)))
            for bits in layers
        ]
        return ".".join([*parts, self.suffix])

    def cloak_hostname(self, host: str) -> str:
        """A host name keeps its domain: ``dsl-1.isp.example`` -> ``<segment>.isp.example``."""
        _, dot, domain = host.partition(".")
        head = self._segment("host:" + host.lower())
        return f"{head}.{domain}" if dot and "." in domain else f"{head}.{self.suffix}"

    def cloak(self, host: str) -> str:
        """Cloak an IP address or a host name."""
        try:
            return self.cloak_ip(host)
        except ValueError:
            return self.cloak_hostname(host)

    @staticmethod
    def range_masks(cloak: str) -> tuple[str, str]:
        """The ban masks covering the /24 and /16 (IPv6: /48 and /32) of a cloaked IP."""
        _, _, wide = cloak.partition(".")
        _, _, wider = wide.partition(".")
        return f"*!*@*.{wide}", f"*!*@*.{wider}"
