"""Reserved nicks: the owner takes theirs back from a squatter, who becomes a guest.

The embedder's `ServerHooks.nick_reserved(client, nick)` says whether `client` may hold
`nick` (the gateway keeps a callsign's nicks for that callsign's account). A client holding
a nick it may not hold is a squatter, for instance one that sent NICK before registering
(the check waits for registration, since SASL comes after NICK) or before the rule applied.
A client that may hold the nick takes it back: when it asks for it with NICK, when it logs
in (SASL) after the nick was refused to it as in use, and when the embedder attaches it.
The squatter is renamed to a guest nick and told why, as Ergo and NickServ do; a client
still registering sees its new nick in the welcome (irssi and WeeChat take it from 001).
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Final

from ircd.protocol import Message

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context

log = logging.getLogger("ircd.nickclaim")

GUEST_PREFIX: Final = "Guest"
#: Tries for a free guest nick before a random number is used, and random ones after.
_GUEST_TRIES: Final = 8
_RANDOM_TRIES: Final = 64


def may_hold(server: Context, client: Client, nick: str) -> bool:
    return server.hooks.nick_reserved(client, nick) is None


def take_back(server: Context, claimant: Client, nick: str) -> bool:
    """Rename whoever squats `nick` if `claimant` may hold it; True if it is free now."""
    holder = server.nicks.get(server.fold(nick))
    if holder is None or holder is claimant:
        return True
    if not may_hold(server, claimant, nick):
        return False
    reason = server.hooks.nick_reserved(holder, nick)
    if reason is None:
        return False  # the holder may hold it too: first come, first served
    make_guest(server, holder, reason)
    return True


def make_guest(server: Context, client: Client, reason: str) -> None:
    """Rename `client` off a nick it may not hold, telling it why."""
    old = client.nick
    new = guest_nick(server, client)
    if new is None:  # a NICKLEN so short that no guest nick is free: it cannot stay
        log.info("%s (%s) disconnected, no guest nick free: %s", old, client.ip, reason)
        server.disconnect(client, reason)
        return
    log.info("%s (%s) renamed to %s: %s", old, client.ip, new, reason)
    server.set_nick(client, new)
    target = new if client.registered else "*"
    # A NOTICE because irssi shows no 433 text (nor WeeChat while registering); sent
    # after the rename, so a registered client reads it under its new nick.
    text = f"You are now {new}: {reason}"
    server.send(client, Message(source=server.name, command="NOTICE", params=(target, text)))


def guest_nick(server: Context, client: Client) -> str | None:
    """A free nick no hook reserves, within NICKLEN: Guest<id>, Guest<id>_<n>, else
    random ones (`Guest` and digits, as long as NICKLEN allows); None if none is free."""
    limit = server.config.limits.nicklen
    base = f"{GUEST_PREFIX}{client.id}"
    for n in range(_GUEST_TRIES):
        nick = base if n == 0 else f"{base}_{n}"
        if len(nick) <= limit and _free(server, client, nick):
            return nick
    # Never cut a candidate to fit: cut ones would all be the same nick. Random digits
    # after as much of the prefix as fits; the table is finite, so some are free.
    prefix = GUEST_PREFIX[: max(1, min(len(GUEST_PREFIX), limit - 4))]
    digits = max(0, min(limit - len(prefix), 9))
    for _ in range(_RANDOM_TRIES):
        nick = prefix + "".join(secrets.choice("0123456789") for _ in range(digits))
        if _free(server, client, nick):
            return nick
    return None


def _free(server: Context, client: Client, nick: str) -> bool:
    return server.fold(nick) not in server.nicks and may_hold(server, client, nick)


def recover_wanted(server: Context, client: Client) -> None:
    """After a login: give back the nick refused to `client` as in use, if it is its own."""
    wanted, client.wanted_nick = client.wanted_nick, None
    if wanted is None or client.registered or client.nick == wanted:
        return
    if may_hold(server, client, wanted) and take_back(server, client, wanted):
        server.set_nick(client, wanted)
