"""LIST sent as the client takes it (ISUPPORT SAFELIST): a cursor resumed as output drains.

Every channel with a long topic makes a LIST far longer than a SendQ (1000 channels with
390-byte topics: ~400 kB against the default 256 KiB). Made at once, it would drop a slow
reader for asking, and anyone able to create channels could make LIST drop whoever asks.
So, as Solanum's safelist does, the reply goes out in chunks of at most `chunk_bytes`:
321 and a first chunk with the command's replies, then one chunk each time the client's
sink says the output it holds has drained (`PacedSink.when_drained`), 323 at the end.

The cursor (`Client.listing`) holds a snapshot of the folded names to list and the
filters parsed from the command: a channel gone meanwhile is skipped, one made meanwhile
is not listed (a renamed one counts as gone), visibility (+s) is judged as each line is
made. A new LIST ends the one in progress with its 323; leaving the server drops it
(`Server.disconnect`). A labelled LIST that goes on past its command keeps its
labeled-response batch open until that 323 (`ReplyBuffer.continued`).

A sink that cannot tell when it drained (no `when_drained`: an in-process client, whose
reader runs every loop pass and whose embedder may bracket a command between PINGs) gets
the whole reply at once, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from ircd import numerics as n
from ircd.protocol import Message

if TYPE_CHECKING:
    from ircd.channel import Channel
    from ircd.client import Client
    from ircd.context import Context
    from ircd.replies import ReplyBuffer

#: Bytes of 322 lines made at once at most (a quarter of the SendQ if that is less).
CHUNK: Final = 32 * 1024


class Listing:
    """A LIST in progress: what is left to list, and how to choose and mark its lines."""

    __slots__ = ("batch", "names", "position", "tests", "when_drained")

    def __init__(
        self,
        names: list[str],
        tests: list[Callable[[Channel], bool]],
        when_drained: Callable[[Callable[[], None]], None] | None,
    ) -> None:
        self.names = names  # folded names, a snapshot taken by the command
        self.position = 0  # the next name to look at
        self.tests = tests  # ELIST conditions, each true of a channel to list
        self.when_drained = when_drained  # the sink's (`PacedSink`); None: all at once
        #: The open labeled-response batch the lines belong to (None: none).
        self.batch: str | None = None


def chunk_bytes(server: Context) -> int:
    return min(CHUNK, server.config.limits.sendq // 4)


def start(
    server: Context,
    client: Client,
    rb: ReplyBuffer,
    names: list[str],
    tests: list[Callable[[Channel], bool]],
) -> None:
    """Answer a LIST of `names` (folded) filtered by `tests`: 321 and as much as a chunk
    holds into `rb`, the rest as `client`'s sink drains."""
    if client.listing is not None:
        _end(server, client, client.listing)  # before this command's replies
    rb.numeric(n.RPL_LISTSTART, "Channel", "Users  Name")
    when_drained = getattr(client.sink, "when_drained", None)
    listing = Listing(names, tests, when_drained)
    budget = chunk_bytes(server) if when_drained is not None else None
    for msg in _lines(server, client, listing, budget):
        rb.add(msg)
    if listing.position >= len(names) or when_drained is None:
        rb.numeric(n.RPL_LISTEND, "End of /LIST")
        return
    listing.batch = rb.continued()
    client.listing = listing
    when_drained(lambda: resume(server, client, listing))


def resume(server: Context, client: Client, listing: Listing) -> None:
    """The sink drained: the next chunk of `listing` (stale if another LIST replaced it)."""
    if client.closed or client.listing is not listing:
        return
    out = _lines(server, client, listing, chunk_bytes(server))
    done = listing.position >= len(listing.names)
    if done:
        out += _ending(server, client, listing)
        client.listing = None
    mode = client.tag_mode
    client.sink.write(b"".join(server.encode(m, mode) for m in out))
    if not done and listing.when_drained is not None:
        listing.when_drained(lambda: resume(server, client, listing))


def _end(server: Context, client: Client, listing: Listing) -> None:
    """End `listing` early (a new LIST came): its 323, and its batch's end."""
    client.listing = None
    mode = client.tag_mode
    client.sink.write(b"".join(server.encode(m, mode) for m in _ending(server, client, listing)))


def _ending(server: Context, client: Client, listing: Listing) -> list[Message]:
    out = [_numeric(server, client, listing, n.RPL_LISTEND, "End of /LIST")]
    if listing.batch is not None:
        out.append(Message(source=server.name, command="BATCH", params=(f"-{listing.batch}",)))
    return out


def _lines(server: Context, client: Client, listing: Listing, budget: int | None) -> list[Message]:
    """322 lines from the cursor on, moving it, until `budget` bytes (at least one line)."""
    out: list[Message] = []
    used = 0
    names = listing.names
    channels = server.channels
    while listing.position < len(names) and (budget is None or used < budget):
        channel = channels.get(names[listing.position])
        listing.position += 1
        if channel is None or (channel.secret and client not in channel.members):
            continue  # gone since the command, or not to be seen
        if not all(test(channel) for test in listing.tests):
            continue
        modes = " ".join(channel.mode_string(show_key=False))
        text = f"[{modes}] {channel.topic}"
        msg = _numeric(
            server, client, listing, n.RPL_LIST, channel.name, str(len(channel.members)), text
        )
        out.append(msg)
        if budget is not None:
            used += len(server.encode(msg, client.tag_mode))
    return out


def _numeric(server: Context, client: Client, listing: Listing, code: str, *params: str) -> Message:
    tags = {"batch": listing.batch} if listing.batch is not None else {}
    return Message(source=server.name, command=code, params=(client.name, *params), tags=tags)
