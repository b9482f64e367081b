"""Multi-line messages (IRCv3 draft/multiline): a client batch of PRIVMSG or NOTICE lines.

    C: BATCH +r1 draft/multiline #chan
    C: @batch=r1 PRIVMSG #chan :first line
    C: @batch=r1;draft/multiline-concat PRIVMSG #chan : continued
    C: BATCH -r1

The lines wait on the client (`Client.multiline`, an `ircd.exchanges.Multiline` of at
most `MAX_LINES` lines and `MAX_BYTES` bytes of text) until the batch closes; then the
whole is checked once (the channel's modes, the spamfilter over the joined text) and
delivered: as a batch to clients with the capability, as separate lines to the others,
each line kept in the history. Errors are standard replies (`FAIL BATCH MULTILINE_...`);
a batch with an error delivers nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, NamedTuple

from ircd import caps
from ircd.channel import STATUS_PREFIXES
from ircd.exchanges import CONCAT, Multiline
from ircd.history import Entry, dm_key
from ircd.protocol import Message, truncate_utf8
from ircd.screening import screen, server_notice

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context
    from ircd.replies import ReplyBuffer

CAP: Final = caps.MULTILINE
CAP_VALUE: Final = caps.MULTILINE_VALUE


def batch(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """BATCH +<ref> draft/multiline <target> | BATCH -<ref>

    Opens or closes a multi-line message (draft/multiline); the lines in between carry
    the tag batch=<ref>.
    """
    ref = msg.params[0]
    if ref.startswith("+") and len(ref) > 1:
        if len(msg.params) < 3 or msg.params[1] != CAP or CAP not in client.caps:
            rb.fail("BATCH", "MULTILINE_INVALID", text="Only draft/multiline batches are accepted")
            return
        if client.multiline is not None:
            rb.fail("BATCH", "MULTILINE_INVALID", text="A multiline batch is open already")
            return
        client.multiline = Multiline(ref[1:], msg.params[2], rb.label)
        rb.label = None  # the answer to the label is the whole message, at the end
        return
    state = client.multiline
    if not ref.startswith("-") or state is None or state.ref != ref[1:]:
        rb.fail("BATCH", "MULTILINE_INVALID", text="No such batch open")
        return
    client.multiline = None
    if rb.label is None:
        rb.label = state.label
    if state.error is None and not any(text for text, _ in state.lines):
        state.error = ("MULTILINE_INVALID", (), "The batch holds no text")
    if state.error is not None:
        code, context, text = state.error
        rb.fail("BATCH", code, *context, text=text)
        return
    _deliver(server, client, state, rb)


def _joined(state: Multiline) -> str:
    out = ""
    for i, (text, concat) in enumerate(state.lines):
        out += text if concat or i == 0 else "\n" + text
    return out


class _Target(NamedTuple):
    """Where a batch goes: the name shown, its history key, who gets it, to yourself."""

    name: str
    key: str
    recipients: list[Client]
    to_self: bool


def _deliver(server: Context, client: Client, state: Multiline, rb: ReplyBuffer) -> None:
    command = state.command or "PRIVMSG"
    joined = _joined(state)
    name = state.target.lstrip("".join(STATUS_PREFIXES.values()))
    if name.startswith("#"):
        where = _to_channel(server, client, state.target, name, command, joined, rb)
    else:
        where = _to_user(server, client, state.target, name, command, joined, rb)
    if where is None:
        return
    client.last_active = server.clock()
    budget = server.text_budget(client, command, where.name)
    plain = _plain(server, client, state, command, where, budget)
    batched = _batched(server, client, state, command, where.name, budget)
    able = [c for c in where.recipients if CAP in c.caps and "batch" in c.caps]
    others = [c for c in where.recipients if not (CAP in c.caps and "batch" in c.caps)]
    for msg in batched:
        server.fanout(able, msg)
    for msg in plain:
        server.fanout(others, msg)
    if "echo-message" in client.caps or where.to_self:
        # The sender's copy (echo, or a message to yourself), with the label if any:
        # the batch itself is the labelled response.
        if CAP in client.caps and "batch" in client.caps:
            rb.add_whole_batch(batched)
        else:
            for msg in plain:
                rb.add(msg)


def _to_channel(
    server: Context,
    client: Client,
    target: str,
    name: str,
    command: str,
    joined: str,
    rb: ReplyBuffer,
) -> _Target | None:
    """The channel `name`, if the batch may go there (else the client is told why)."""
    channel = server.find_channel(name)
    if channel is None or name != target:  # no STATUSMSG batches: kept simple
        rb.fail("BATCH", "MULTILINE_INVALID_TARGET", target, text="No such channel")
        return None
    if channel.send_refusal(client, command, joined) is not None:
        rb.fail("BATCH", "MULTILINE_INVALID_TARGET", target, text="Cannot send to channel")
        return None
    if _blocked(server, client, "channel", joined, rb):
        return None
    others = [c for c in channel.members if c is not client]
    return _Target(channel.name, channel.folded, others, to_self=False)


def _to_user(
    server: Context,
    client: Client,
    target: str,
    name: str,
    command: str,
    joined: str,
    rb: ReplyBuffer,
) -> _Target | None:
    """The user `name`, if the batch may go there (an absent one's embedder may take it)."""
    user = server.find_target(name)
    if user is None:
        if not server.hooks.message_to_absent(client, name, command, joined.replace("\n", " ")):
            rb.fail("BATCH", "MULTILINE_INVALID_TARGET", target, text="No such nick")
        return None
    if _blocked(server, client, "private", joined, rb):
        return None
    to_self = user is client
    key = dm_key(server.fold(client.name), server.fold(user.name))
    return _Target(user.name, key, [] if to_self else [user], to_self)


def _blocked(server: Context, client: Client, kind: str, joined: str, rb: ReplyBuffer) -> bool:
    hit = screen(server, client, kind, joined, rb)
    if hit is not None and not client.closed:
        server_notice(server, rb, f"Message blocked: {hit.spec.reason}")
    return hit is not None


def _plain(
    server: Context, client: Client, state: Multiline, command: str, where: _Target, budget: int
) -> list[Message]:
    """Without the capability: each line on its own, each kept in the history."""
    tags = client.tags()
    plain = []
    for text, _ in state.lines:
        # A blank line goes to these clients as one space: to them an empty PRIVMSG is
        # the error 412 names, and some drop it (the batch keeps it empty).
        line = truncate_utf8(text, budget) or " "
        msg = Message(
            source=client.prefix,
            command=command,
            params=(where.name, line),
            tags=server.relay_tags(tags),
        )
        plain.append(msg)
        if server.history.size:
            server.history.add(
                where.key, Entry(at=server.wallclock(), msgid=msg.tags["msgid"], message=msg)
            )
    return plain


def _batched(
    server: Context, client: Client, state: Multiline, command: str, target: str, budget: int
) -> list[Message]:
    """With the capability: the lines in one draft/multiline batch."""
    ref = server.batch_id()
    return [
        Message(
            source=client.prefix,
            command="BATCH",
            params=(f"+{ref}", CAP, target),
            tags=server.relay_tags(client.tags()),
        ),
        *(
            Message(
                source=client.prefix,
                command=command,
                params=(target, truncate_utf8(text, budget)),  # a blank line stays blank
                tags={"batch": ref, CONCAT: ""} if concat else {"batch": ref},
            )
            for text, concat in state.lines
        ),
        Message(source=client.prefix, command="BATCH", params=(f"-{ref}",)),
    ]
