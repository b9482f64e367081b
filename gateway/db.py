"""What a module owning tables of the store is given, and what it gives the store.

Each table's DDL and its queries live in one module (`auth/users.py`,
`auth/penaltystore.py`, `auth/credentials.py`, `auth/netlogin.py`, `auth/audit.py`,
`chatstore.py`, `irc/xlinestore.py`, `settingstore.py`); each exposes a `SCHEMA`
that `store.py` applies, in its list's order, when it opens the database. Those modules
are typed against `Db`, not `Store`, so the store can import their schemas without a
circle of imports.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from gateway.auth.secretbox import SecretBox
from gateway.config import Config


class Db(Protocol):
    """The little of `Store` a table's module uses."""

    @property
    def db(self) -> sqlite3.Connection: ...
    @property
    def box(self) -> SecretBox: ...
    def transaction(self) -> AbstractContextManager[None]: ...


#: A change to a database written by an older version, run after the DDL at every
#: open (it must see whether it is needed): the connection and the configuration.
Migration = Callable[[sqlite3.Connection, Config], None]


@dataclass(frozen=True, slots=True)
class Schema:
    """One module's tables: its DDL (`CREATE ... IF NOT EXISTS`) and its migrations."""

    owner: str  # the module, as `__name__`
    ddl: str
    migrations: tuple[Migration, ...] = ()
