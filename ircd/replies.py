"""The reply buffer: handlers append messages for the issuing client, sent once afterwards."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

from ircd.protocol import MAX_BODY, Message

if TYPE_CHECKING:
    from ircd.client import Client


class Origin(Protocol):
    """What a reply buffer needs of the server: its name, batch references, serialization."""

    @property
    def name(self) -> str: ...
    def batch_id(self) -> str: ...
    def encode(self, msg: Message, tag_mode: int) -> bytes: ...


class ReplyBuffer:
    """Collects replies for one client during one command; `flush()` writes them at once.

    Handlers never write to a socket: this gives one write per command and lets tests
    read the replies without any I/O.
    """

    __slots__ = ("_out", "client", "command", "label", "server")

    def __init__(self, server: Origin, client: Client) -> None:
        self.server = server
        self.client = client
        self._out: list[Message] = []
        #: The client's label (labeled-response): set, the replies carry it on flush.
        self.label: str | None = None
        #: The command being answered ("*" until the line parsed), for error replies.
        self.command = "*"

    def __iter__(self) -> Iterator[Message]:
        """The messages collected so far (for tests)."""
        return iter(self._out)

    def add(self, msg: Message) -> None:
        self._out.append(msg)

    def discard(self) -> None:
        """Forget the replies collected so far (the command failed half-way)."""
        self._out = []

    def numeric(self, code: str, *params: str) -> None:
        """Add a numeric from the server, addressed to the client (its nick or "*").

        A middle parameter that cannot be one (empty, with a space, or starting with
        ':', as a user may send: `CAP :a b`) is replaced by "*", as Ergo does.
        """
        self._out.append(
            Message(
                source=self.server.name,
                command=code,
                params=(self.client.name, *map(safe_middle, params[:-1]), *params[-1:]),
            )
        )

    def numeric_list(
        self, code: str, params: tuple[str, ...], items: Iterable[str], sep: str = " "
    ) -> None:
        """Add `code params... :item item ...`, split over as many lines as 512 bytes need."""
        fixed = f":{self.server.name} {code} {self.client.name} {' '.join(params)} :"
        budget = MAX_BODY - 2 - len(fixed.encode())
        line: list[str] = []
        used = 0
        for item in items:
            size = len(item.encode()) + (1 if line else 0)
            if line and used + size > budget:
                self.numeric(code, *params, sep.join(line))
                line, size = [], size - 1
                used = 0
            line.append(item)
            used += size
        if line:
            self.numeric(code, *params, sep.join(line))

    def flush(self) -> None:
        """Send everything collected, in order, as one write.

        With a label: no reply becomes ACK, one reply carries the label, several go in
        a labeled-response batch (IRCv3 labeled-response).
        """
        out = self._out
        if self.label is not None:
            out = self._labeled(out)
        if out and not self.client.closed:
            server = self.server
            client = self.client
            client.sink.write(b"".join(server.encode(m, client.tag_mode) for m in out))
        self._out = []
        self.label = None

    def _labeled(self, out: list[Message]) -> list[Message]:
        label = self.label
        assert label is not None
        source = self.server.name
        if not out:
            return [Message(source=source, command="ACK", tags={"label": label})]
        if len(out) == 1 or "batch" not in self.client.caps:
            return [out[0].with_tags({**out[0].tags, "label": label}), *out[1:]]
        ref = self.server.batch_id()
        return [
            *self._opened(label, ref, out),
            Message(source=source, command="BATCH", params=(f"-{ref}",)),
        ]

    def _opened(self, label: str, ref: str, out: list[Message]) -> list[Message]:
        """`out` in labeled-response batch `ref`, opened with `label`, not closed."""
        opening = Message(
            source=self.server.name,
            command="BATCH",
            params=(f"+{ref}", "labeled-response"),
            tags={"label": label},
        )
        # Members of a nested batch keep theirs; its BATCH lines join the outer one.
        return [
            opening,
            *(m if "batch" in m.tags else m.with_tags({**m.tags, "batch": ref}) for m in out),
        ]

    def continued(self) -> str | None:
        """The response goes on after this command (a LIST sent as it drains,
        `ircd.listing`): the label goes on what is collected now, in a labeled-response
        batch left open, whose ref is returned (the later lines carry it, and whoever
        sends them ends it); without the batch capability the label goes on the first
        reply alone, and None is returned, as without a label."""
        label, self.label = self.label, None
        out = self._out
        if label is None or not out:
            return None
        if "batch" not in self.client.caps:
            out[0] = out[0].with_tags({**out[0].tags, "label": label})
            return None
        ref = self.server.batch_id()
        self._out = self._opened(label, ref, out)
        return ref

    def add_whole_batch(self, messages: list[Message]) -> None:
        """Add a batch that is the whole response to a labelled command: its opening
        BATCH line carries the label, with no labeled-response batch around it
        (draft/multiline's echo). With anything collected before it, as `add`."""
        if self.label is not None and not self._out and messages:
            messages = [messages[0].with_tags({**messages[0].tags, "label": self.label}),
                        *messages[1:]]  # fmt: skip
            self.label = None
        self._out.extend(messages)

    def batch(self, kind: str, params: tuple[str, ...], messages: list[Message]) -> None:
        """Add `messages` wrapped in a batch of `kind` (or bare, without the batch cap)."""
        if "batch" not in self.client.caps:
            self._out.extend(messages)
            return
        ref = self.server.batch_id()
        source = self.server.name
        self._out.append(Message(source=source, command="BATCH", params=(f"+{ref}", kind, *params)))
        self._out.extend(m.with_tags({**m.tags, "batch": ref}) for m in messages)
        self._out.append(Message(source=source, command="BATCH", params=(f"-{ref}",)))

    def fail(self, command: str, code: str, *context: str, text: str) -> None:
        """A standard reply FAIL (IRCv3 standard-replies); context as in `numeric`."""
        params = (safe_middle(command), code, *map(safe_middle, context), text)
        self._out.append(Message(source=self.server.name, command="FAIL", params=params))


def safe_middle(param: str) -> str:
    """`param`, or "*" where it could not be a middle parameter on the wire."""
    if not param or " " in param or param[0] == ":":
        return "*"
    return param
