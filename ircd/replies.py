"""The reply buffer: handlers append messages for the issuing client, sent once afterwards."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from ircd.protocol import MAX_BODY, Message

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.server import Server


class ReplyBuffer:
    """Collects replies for one client during one command; `flush()` writes them at once.

    Handlers never write to a socket: this gives one write per command and lets tests
    read the replies without any I/O.
    """

    __slots__ = ("_out", "client", "server")

    def __init__(self, server: Server, client: Client) -> None:
        self.server = server
        self.client = client
        self._out: list[Message] = []

    def __iter__(self) -> Iterator[Message]:
        """The messages collected so far (for tests)."""
        return iter(self._out)

    def add(self, msg: Message) -> None:
        self._out.append(msg)

    def numeric(self, code: str, *params: str) -> None:
        """Add a numeric from the server, addressed to the client (its nick or "*")."""
        self._out.append(
            Message(source=self.server.name, command=code, params=(self.client.name, *params))
        )

    def numeric_list(self, code: str, params: tuple[str, ...], items: Iterable[str]) -> None:
        """Add `code params... :item item ...`, split over as many lines as 512 bytes need."""
        fixed = f":{self.server.name} {code} {self.client.name} {' '.join(params)} :"
        budget = MAX_BODY - 2 - len(fixed.encode())
        line: list[str] = []
        used = 0
        for item in items:
            size = len(item.encode()) + (1 if line else 0)
            if line and used + size > budget:
                self.numeric(code, *params, " ".join(line))
                line, size = [], size - 1
                used = 0
            line.append(item)
            used += size
        if line:
            self.numeric(code, *params, " ".join(line))

    def flush(self) -> None:
        """Send everything collected, in order, as one write."""
        if self._out and not self.client.closed:
            server = self.server
            client = self.client
            self.client.sink.write(b"".join(server.encode(m, client.tag_mode) for m in self._out))
        self._out.clear()
