"""Case mapping of nicknames and channel names (ISUPPORT CASEMAPPING).

`rfc1459` (the default) also folds ``[]\\~`` to ``{}|^`` because RFC 1459 was written
by Scandinavians; `ascii` folds only A-Z. Anything outside ASCII is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from string import ascii_lowercase, ascii_uppercase
from types import MappingProxyType
from typing import Final

RFC1459: Final = "rfc1459"
ASCII: Final = "ascii"
CASEMAPPINGS: Final = (RFC1459, ASCII)
#: Names a `folder` remembers folded (a few hundred KiB at most).
_FOLD_CACHE: Final = 4096

_TABLES: Final = MappingProxyType(
    {
        RFC1459: MappingProxyType(
            str.maketrans(ascii_uppercase + "[]\\~", ascii_lowercase + "{}|^")
        ),
        ASCII: MappingProxyType(str.maketrans(ascii_uppercase, ascii_lowercase)),
    }
)


def casefold(name: str, mapping: str = RFC1459) -> str:
    """Fold `name` to its canonical form under `mapping`."""
    return name.translate(_TABLES[mapping])


def folder(mapping: str = RFC1459) -> Callable[[str], str]:
    """Return a one-argument folding function for `mapping` (raises KeyError if unknown)."""
    table = _TABLES[mapping]
    # Folded names, as str.translate with a dict costs a lookup per character and every
    # message folds its target. Bounded: cleared when full (names come from clients).
    cache: dict[str, str] = {}

    def fold(name: str) -> str:
        folded = cache.get(name)
        if folded is None:
            if len(cache) >= _FOLD_CACHE:
                cache.clear()
            folded = cache[name] = name.translate(table)
        return folded

    return fold
