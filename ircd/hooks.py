"""The extension interface the gateway plugs into. It is all here, and it is small.

The gateway never reaches into the server's tables. It uses:

- `ServerHooks`, passed as `IrcServer(config, hooks=...)` / `Server(config, hooks=...)`:
  the server asks whether a nick is reserved (callsign nicks belong to their enrolled
  owner), hands over messages to absent nicks (the radio mailbox), may name the nick
  a target that cannot be a nick stands for (`2E0ABC` for `_2E0ABC`) and may add lines
  to an operator's WHOIS (a radio user's node, path and login time). `NoHooks` is the
  standalone behaviour.
- `Control`, passed as `control=...`: what the operator commands REHASH and DIE do,
  and where operator actions (KILL, K/G/Z-lines, REHASH, DIE) are recorded (`audit`).
- `Server.attach(sink, nick=, user=, host=, account=, realname=)`: an in-process client
  with a trusted identity (no socket, no password, no cloak), or the ready-made
  `ircd.inprocess.InProcessConnection.attach(server, ...)` that queues its output.
- `Server.add_command(name, handler, min_params=, oper_only=)`: an extra command for this
  server, e.g. an operator command of the gateway; handlers have the built-in signature
  `(server, client, msg, rb)`, `server` typed as `ircd.context.Context` (what a handler
  may use), and reply through `rb.numeric(...)` / `rb.add(msg)`.
- `Server.notice_opers(text, snomask=, kind=, source=)`: a server notice from the
  embedder (`*** TITLE: text`) to the operators whose snomask holds the letter (r, p, l
  and u are kept for an embedder's radio, third-party and login notices: `ircd.snomask`),
  its repeats of one kind from one source collapsed.
- `ircd.xlines.BanStore`, passed as `ban_store=...`: durable K/G/Z-lines (the gateway's
  SQLite store); `IrcServer.resync_bans()` drops the lines removed from it by another
  program (the gateway's console).
- `Accounts`, passed as `accounts=...`: SASL PLAIN and EXTERNAL check against it; without
  it the server does not offer SASL. An answer may be a `Login`, naming the credential
  that logged in, so that `Server.end_logins(account, reason, credential=)` can end
  those logins when the credential is revoked (or every login of a locked account).

Hooks run on the event loop, inside command handling: they must be quick and must not
block or call back into the server synchronously.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
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

    def target_alias(self, name: str) -> str | None:
        """Optional: the nick that `name`, which cannot be a nick, stands for as a target.

        Asked by WHOIS, PRIVMSG, NOTICE, KILL, INVITE and the other commands that name a
        user, only when `name` is not a valid nick (so an alias never hides a real one).
        The gateway maps a callsign that starts with a digit (`2E0ABC`) to its nick
        (`_2E0ABC`). Hooks without this method have no aliases.
        """
        ...

    def whois_for_opers(self, user: Client) -> Sequence[str]:
        """Optional: lines about `user` that only operators see in WHOIS (RPL_WHOISSPECIAL,
        320), each a short sentence after the nick. The gateway tells how a radio user is
        on the air: the node or port, the path, the login time. Hooks without it add none.
        """
        ...


@dataclass(frozen=True, slots=True)
class Login:
    """A successful check: the account, and the embedder's own name for what logged in
    (say `apppass:3`), kept on the client as `Client.credential`."""

    account: str
    credential: str = ""


class Accounts(Protocol):
    """The accounts SASL logs in to, provided by the embedder (the gateway)."""

    async def check_password(
        self, account: str, password: str, address: str, *, browser: bool = False
    ) -> str | Login | None:
        """The account's canonical name (or a `Login`) if `password` is right, else None.

        `address` is the client's IP address, for penalties keyed per source (one
        guesser must not lock every user out). `browser` is set for a WebSocket client
        from a web page (`Client.web_origin`): its address is the user's, but another
        site's script may be the one trying, so it deserves no trust of that address.
        The implementation compares in constant time; the server bounds how many SASL
        checks run at once (apart from OPER's and connection passwords').
        """
        ...

    async def account_for_certfp(self, certfp: str) -> str | Login | None:
        """The account registered for a TLS client certificate (SHA-256, hex), or None."""
        ...


class NoHooks:
    """Default hooks: no nick is reserved and messages to absent nicks are refused."""

    def nick_reserved(self, client: Client, nick: str) -> str | None:
        return None

    def message_to_absent(self, client: Client, nick: str, command: str, text: str) -> bool:
        return False

    def target_alias(self, name: str) -> str | None:
        return None

    def whois_for_opers(self, user: Client) -> Sequence[str]:
        return ()


@dataclass(frozen=True, slots=True)
class OperAction:
    """One operator action, for the embedder's audit trail: who (nick and oper block),
    from which address, what (`KLINE *@192.0.2.7 10m: flooding`), and the result."""

    nick: str
    oper: str
    address: str
    action: str
    result: str


@dataclass(frozen=True, slots=True)
class Control:
    """What REHASH and DIE do; None means the command is refused with a note.

    `rehash()` reloads the configuration and returns its outcome in one line for
    operators (`reloaded ...`, `refused: <first problem>`), or an awaitable of it when
    the reload takes I/O; `die()` asks the application to stop (it must not stop the
    server synchronously). `audit(action)` records an operator action; it must be quick
    (queue the write). Standalone, `python -m ircd` supplies rehash and die; the gateway
    supplies all three.
    """

    rehash: Callable[[], str | Awaitable[str]] | None = None
    die: Callable[[], None] | None = None
    audit: Callable[[OperAction], None] | None = None


def rehash_refused(problems: list[str]) -> str:
    """The REHASH outcome of an invalid file: its first problem, and how many more."""
    first = problems[0] if problems else "invalid configuration"
    more = f" (and {len(problems) - 1} more: see the log)" if len(problems) > 1 else ""
    return f"refused, the running configuration stays: {first}{more}"
