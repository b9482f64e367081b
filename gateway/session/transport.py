"""What a transport (telnet, AX.25) offers a session, and what it tells the session.

Both transports deliver the same events, so nothing above this line knows which one
it runs on except for its chunk size (one packet) and its name:

- `line(text)` and `line_too_long(limit)` as the user types;
- `ready()` when the link can take another chunk of output (the session holds the
  rest, where it can still be stopped or summarised);
- `gone()` once, when the user or the link has gone.

And the session drives the transport with `write` (one chunk at a time, after
`ready`), `set_input_paused` (telnet stops reading, AX.25 sends RNR: typed lines
wait at the sender instead of being dropped), and `close`.
"""

from __future__ import annotations

from typing import Protocol

from gateway.callsign import Callsign


class TransportEvents(Protocol):
    def line(self, text: str) -> None: ...

    def line_too_long(self, limit: int) -> None: ...

    def ready(self) -> None: ...

    def gone(self) -> None: ...


class Transport(Protocol):
    #: Human description of the path, e.g. "BPQ node1" or "AX.25 vhf via WIDE1".
    via: str
    #: What the user's IRC host says of the way in, e.g. "bpq" or "ax25": no node, port
    #: or path, which only operators see (WHOIS 320).
    host_kind: str
    #: The most the session hands over at once (one packet).
    chunk_bytes: int
    #: Bytes sent to the user and received from them so far (for operators).
    bytes_out: int
    bytes_in: int

    def bind(self, events: TransportEvents) -> None:
        """Start delivering events (those that came before are delivered now, in order)."""

    def write(self, text: str) -> None:
        """Queue text for the user ('\\n' line ends; the transport encodes and paces)."""

    def set_input_paused(self, paused: bool) -> None:
        """Stop (or resume) taking input from the user: the session is behind."""

    def source_key(self, callsign: Callsign) -> str:
        """The penalty key of this connection once the claimed callsign is known."""

    def at_code_prompt(self, callsign: Callsign) -> None:
        """The user gave `callsign` and is asked for a code: among the logins in
        progress, the connection is dropped last for a while (`gateway.links.startups`)."""

    def familiar_claim(self) -> None:
        """The claim comes through a source the store knows as the callsign's own: among
        the logins in progress, strangers are dropped first."""

    def logged_in(self) -> None:
        """The user logged in (the connection stops counting as a login in progress)."""

    async def close(self, farewell: str | None = None) -> None:
        """Send `farewell`, let the output drain, and end the connection."""


class EarlyEvents:
    """Events that arrive before the session binds; replayed in order by `bind`."""

    def __init__(self) -> None:
        self.items: list[tuple[str, object]] = []

    def line(self, text: str) -> None:
        self.items.append(("line", text))

    def line_too_long(self, limit: int) -> None:
        self.items.append(("line_too_long", limit))

    def ready(self) -> None:
        self.items.append(("ready", None))

    def gone(self) -> None:
        self.items.append(("gone", None))

    def replay(self, events: TransportEvents) -> None:
        items, self.items = self.items, []
        for name, arg in items:
            if name == "line":
                events.line(str(arg))
            elif name == "line_too_long":
                events.line_too_long(int(arg))  # type: ignore[call-overload]
            elif name == "ready":
                events.ready()
            else:
                events.gone()
