"""The extension interface the gateway plugs into. It is all here, and it is small.

The gateway never reaches into the server's tables. It uses:

- `ServerHooks`, passed as `IrcServer(config, hooks=...)` / `Server(config, hooks=...)`:
  the server asks whether a nick is reserved (callsign nicks belong to their enrolled
  owner) and hands over messages to absent nicks (the radio mailbox). `NoHooks` is the
  standalone behaviour.
- `Control`, passed as `control=...`: what the operator commands REHASH and DIE do.
- `Server.attach(sink, nick=, user=, host=, account=, realname=)`: an in-process client
  with a trusted identity (no socket, no password, no cloak), or the ready-made
  `ircd.inprocess.InProcessConnection.attach(server, ...)` that queues its output.
- `Server.add_command(name, handler, min_params=, oper_only=)`: an extra command for this
  server, e.g. an operator command of the gateway; handlers have the built-in signature
  `(server, client, msg, rb)` and reply through `rb.numeric(...)` / `rb.add(msg)`.
- `ircd.xlines.BanStore`, passed as `ban_store=...`: durable K/G/Z-lines (the gateway's
  SQLite store).
- `Accounts`, passed as `accounts=...`: SASL PLAIN and EXTERNAL check against it; without
  it the server does not offer SASL.

Hooks run on the event loop, inside command handling: they must be quick and must not
block or call back into the server synchronously.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ircd.client import Client


class ServerHooks(Protocol):
    """What the server asks its embedder. Every method has a safe default in `NoHooks`."""

    def nick_reserved(self, client: Client, nick: str) -> str | None:
        """Return a reason if `nick` is reserved for someone other than `client`, else None.

        Called before a client takes a nick (at registration and on NICK). The gateway
        uses it so that a callsign nick belongs to its enrolled owner. The reason is shown
        to the client in ERR_NICKNAMEINUSE.
        """
        ...

    def message_to_absent(self, client: Client, nick: str, command: str, text: str) -> bool:
        """A PRIVMSG or NOTICE was sent to `nick`, who is not connected.

        Return True if the hook took the message (for example into a radio user's
        mailbox); the sender then gets no ERR_NOSUCHNICK. Return False otherwise.
        """
        ...


class Accounts(Protocol):
    """The accounts SASL logs in to, provided by the embedder (the gateway)."""

    async def check_password(self, account: str, password: str, address: str) -> str | None:
        """The account's canonical name if `password` is right for it, else None.

        `address` is the client's IP address, for penalties keyed per source (one
        guesser must not lock every user out). The implementation compares in constant
        time (e.g. Argon2id verification); the server bounds how many checks run at once.
        """
        ...

    async def account_for_certfp(self, certfp: str) -> str | None:
        """The account registered for a TLS client certificate (SHA-256, hex), or None."""
        ...


class NoHooks:
    """Default hooks: no nick is reserved and messages to absent nicks are refused."""

    def nick_reserved(self, client: Client, nick: str) -> str | None:
        return None

    def message_to_absent(self, client: Client, nick: str, command: str, text: str) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Control:
    """What REHASH and DIE do; None means the command is refused with a note.

    `rehash()` reloads the configuration and returns a one-line result for operators;
    `die()` asks the application to stop (it must not stop the server synchronously).
    Standalone, `python -m ircd` supplies both; the gateway may supply its own.
    """

    rehash: Callable[[], str] | None = None
    die: Callable[[], None] | None = None
