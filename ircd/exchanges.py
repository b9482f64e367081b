"""What a client is in the middle of, across several lines: a SASL exchange, a multiline batch.

The state lives on the client (`Client.sasl`, `Client.multiline`), so it is bounded by
the number of connections and goes with them. The handlers (`ircd.commands.sasl`,
`ircd.commands.multiline`) drive it; the intake adds a batch's lines (`add_line`).
"""

from __future__ import annotations

from typing import Final

from ircd.protocol import Message

CONCAT: Final = "draft/multiline-concat"
#: Limits of one multiline batch, announced as the capability's value (`ircd.caps`).
MAX_BYTES: Final = 4096
MAX_LINES: Final = 24


class SaslState:
    """One exchange in progress: the mechanism and the base64 received so far."""

    __slots__ = ("buffer", "mechanism")

    def __init__(self, mechanism: str) -> None:
        self.mechanism = mechanism
        self.buffer = ""


class Multiline:
    """A batch being received: its reference, target, command and lines so far."""

    __slots__ = ("command", "error", "label", "lines", "ref", "size", "target")

    def __init__(self, ref: str, target: str, label: str | None) -> None:
        self.ref = ref
        self.target = target
        self.label = label
        self.command: str | None = None
        #: (text, concatenated to the line before it)
        self.lines: list[tuple[str, bool]] = []
        self.size = 0
        #: The first problem found: (code, context, text); the batch then delivers nothing.
        self.error: tuple[str, tuple[str, ...], str] | None = None


def add_line(state: Multiline, msg: Message) -> None:
    """Take one line tagged with the open batch's reference (no reply until the end)."""
    if state.error is not None:
        return
    text = msg.params[1] if len(msg.params) > 1 else ""
    concat = CONCAT in msg.tags
    if msg.command not in ("PRIVMSG", "NOTICE") or (state.command not in (None, msg.command)):
        state.error = ("MULTILINE_INVALID", (), "Only PRIVMSG or NOTICE, all the same")
    elif not msg.params or msg.params[0] != state.target:
        state.error = ("MULTILINE_INVALID_TARGET", (state.target,), "Lines must share the target")
    elif concat and not text:
        state.error = ("MULTILINE_INVALID", (), "An empty line cannot be concatenated")
    elif len(state.lines) >= MAX_LINES:
        state.error = ("MULTILINE_MAX_LINES", (str(MAX_LINES),), "Too many lines")
    elif state.size + len(text.encode()) > MAX_BYTES:
        state.error = ("MULTILINE_MAX_BYTES", (str(MAX_BYTES),), "Too many bytes")
    else:
        state.command = msg.command
        state.lines.append((text, concat))
        state.size += len(text.encode())
