"""Screening input with the spamfilters, and acting on a match (block, kill, G-line, warn).

The matching engine is `ircd.spamfilter` (it knows nothing of the server); this module
is the policy the handlers call: exemptions, the operators' report, the kill and the
G-line. It sits below the handlers and uses the server only through `Context`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ircd.protocol import Message
from ircd.snomask import snotice
from ircd.xlines import XLine, normalize_xline_mask

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context
    from ircd.replies import ReplyBuffer
    from ircd.spamfilter import Filter, FilterSpec

# The engine's logger: what an operator greps for stays where it was.
log = logging.getLogger("ircd.spamfilter")


def server_notice(server: Context, rb: ReplyBuffer, text: str) -> None:
    """A NOTICE from the server to the client of `rb` (why its input was refused)."""
    rb.add(Message(source=server.name, command="NOTICE", params=(rb.client.name, text)))


def announce_disabled(server: Context, f: Filter) -> None:
    """Log and tell operators that a filter was disabled for running slow."""
    text = f"Spamfilter {f.describe()} disabled: too slow ({f.disabled})"
    log.warning("%s", text)
    snotice(server, "f", text, title="FILTER")


def screen(
    server: Context, client: Client, target: str, text: str, rb: ReplyBuffer
) -> Filter | None:
    """Run the filters for `target` over `text` from `client`, and act on a match.

    Returns the matching filter when the input must not go through: action block (the
    caller refuses it in its own way) or kill and gline (the client is gone). Returns
    None when nothing matched, the client is exempt (operators and `irc.exempt.spamfilter`),
    or the action was warn.
    """
    filters = server.spamfilters
    if not filters.screens(target) or client.oper is not None:
        return None
    if server.admission.spamfilter_exempt(client):
        return None
    f = filters.match(target, text)
    if f is None:
        return None
    spec = f.spec
    shown = text if len(text) <= 120 else text[:117] + "..."
    who = client.prefix if client.user is not None else client.name
    report = (
        f"Spamfilter {f.describe()} matched {who} ({client.ip}) "
        f"[{target}: {shown}]: {spec.action} ({spec.reason})"
    )
    log.info("%s", report)
    snotice(server, "f", report, rb, title="FILTER", kind=f"hit {f.describe()}", source=client.ip)
    if spec.action == "warn":
        return None
    if spec.action == "kill":
        _kill(server, client, rb, f"Spamfilter: {spec.reason}")
    elif spec.action == "gline" and client.in_process:
        # Its address is the embedder's, shared by every radio user: ban no address.
        _kill(server, client, rb, f"Spamfilter: {spec.reason}")
    elif spec.action == "gline":
        _gline(server, client, rb, spec)
    return f


def _kill(server: Context, client: Client, rb: ReplyBuffer, reason: str) -> None:
    # Replies so far and the KILL go out before the ERROR that disconnect() writes.
    if client.registered:
        rb.add(Message(source=server.name, command="KILL", params=(client.name, reason)))
    rb.flush()
    server.disconnect(client, f"Killed ({server.name} ({reason}))")


def _gline(server: Context, client: Client, rb: ReplyBuffer, spec: FilterSpec) -> None:
    mask = normalize_xline_mask("G", f"*@{client.ip}")
    now = server.wallclock()
    line = (
        XLine(
            kind="G",
            mask=mask,
            reason=spec.reason,
            set_by="spamfilter",
            set_at=now,
            expires=now + spec.duration if spec.duration else None,
        )
        if mask is not None
        else None
    )
    if line is None or not server.admission.xlines.add(line):
        log.warning("spamfilter cannot G-line %s (table full or bad mask): killing", client.ip)
        _kill(server, client, rb, f"Spamfilter: {spec.reason}")
        return
    rb.flush()
    victims = server.admission.matching_clients(line)
    if client not in victims:
        victims.append(client)  # exempt from bans, but not from this filter
    for victim in victims:
        server.disconnect(victim, f"G-lined: {spec.reason}")
    server.run_background(server.admission.save(line))
