"""What a channel's bans cost each message (the hostile review's finding 2), in the core.

    .venv/bin/python bench/ban_cost.py [messages]

No sockets: a `Server` is fed lines as a connection would feed them, and the CPU time
(`time.process_time`) of `messages` PRIVMSGs from a member without voice is divided by
their number. The sender is shaped as in the review: nick ``a``*26 + digits, user
``a``*16. Each case sets 100 entries on the channel first:

- ``0 bans``; ``100 plain``: ``spammer000!*@*`` ...; ``100 crafted``: the review's
  ``*aaaaaaaaaaaaaaaaaaaab000*!*@*`` ...; ``100 wild``: ``*b000?aaaa?aaaa*!*@*`` ...,
  a ``?`` piece whose longest run is everywhere; ``100 made``: ``*a?b*!*@h000`` ...
  against a nick ``abab...``, the dearest shape for this matcher (a ``?`` piece whose
  runs are everywhere but never where the piece needs them);
- each ``member`` (the verdict is kept while nothing changes), ``outsider`` (a
  non-member writing to a ``-n`` channel: judged afresh each time), and ``renamed``
  (a NICK before each PRIVMSG, so each message is judged afresh; the row counts the
  NICK's own cost too).

Not a test: timings vary from machine to machine, so nothing is asserted. Point
PYTHONPATH at another tree's source to measure it the same way (the `before` figures
of docs/PERFORMANCE.md).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from types import SimpleNamespace

from ircd.client import Client
from ircd.config import IrcConfig, Limits
from ircd.server import Server

NICK = "a" * 26
#: Case -> (masks, the sender's nick without its 3 digits).
BANS = {
    "0 bans": ([], NICK),
    "100 plain": ([f"spammer{i:03d}!*@*" for i in range(100)], NICK),
    "100 crafted": ([f"*{'a' * 20}b{i:03d}*!*@*" for i in range(100)], NICK),
    "100 wild": ([f"*b{i:03d}?aaaa?aaaa*!*@*" for i in range(100)], NICK),
    "100 made": ([f"*a?b*!*@h{i:03d}" for i in range(100)], "ab" * 13),
}


def _nothing(*args: object) -> None:
    pass


#: Where the clients' output goes: nowhere (a `Sink` in four attributes).
NULL_SINK = SimpleNamespace(
    write=_nothing, close=_nothing, pause_reading=_nothing, resume_reading=_nothing
)


def _server() -> Server:
    limits = Limits(flood_rate=0, max_per_address=0, max_list_entries=200)
    return Server(dataclasses.replace(IrcConfig(), limits=limits, motd=None))


def _user(server: Server, nick: str, *lines: str) -> Client:
    client = server.connect(NULL_SINK, ip="192.0.2.7")  # type: ignore[arg-type]
    assert client is not None
    text = [f"NICK {nick}", f"USER {'a' * 16} 0 * :x", *lines]
    server.receive(client, "".join(f"{line}\r\n" for line in text).encode())
    return client


def per_message(masks: list[str], nick: str, how: str, messages: int) -> float:
    """Milliseconds of CPU per PRIVMSG."""
    server = _server()
    op = _user(server, "op", "JOIN #banx", "MODE #banx -n")
    for k in range(0, len(masks), 4):
        server.receive(op, f"MODE #banx +bbbb {' '.join(masks[k : k + 4])}\r\n".encode())
    joins = () if how == "outsider" else ("JOIN #banx",)
    sender = _user(server, nick + "123", *joins)
    if how == "renamed":
        lines = [
            f"NICK {nick}{i % 2}{i % 1000:03d}\r\nPRIVMSG #banx :hello\r\n".encode()
            for i in range(messages)
        ]
    else:
        lines = [b"PRIVMSG #banx :hello\r\n"] * messages
    start = time.process_time()
    for line in lines:
        server.receive(sender, line)
    return (time.process_time() - start) / messages * 1000


def main(messages: int = 2000) -> None:
    print(f"ms of CPU per PRIVMSG ({messages} messages per cell)")
    hows = ("member", "outsider", "renamed")
    print(f"{'':>12} " + " ".join(f"{h:>9}" for h in hows))
    for name, (masks, nick) in BANS.items():
        cells = [per_message(masks, nick, how, messages) for how in hows]
        print(f"{name:>12} " + " ".join(f"{c:9.4f}" for c in cells))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
