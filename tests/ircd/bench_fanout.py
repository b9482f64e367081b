"""Micro-benchmark of channel fan-out in the core (no sockets): run it, it prints.

    .venv/bin/python tests/ircd/bench_fanout.py [members] [messages]

Not a test: timings vary from machine to machine, so nothing is asserted. Half the
members negotiate message-tags and server-time, so two serializations are needed.
"""

from __future__ import annotations

import dataclasses
import sys
import time

from ircd.config import IrcConfig, Limits
from ircd.server import Server


class NullSink:
    __slots__ = ("bytes",)

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self.bytes += len(data)

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def main(members: int = 1000, messages: int = 2000) -> None:
    config = dataclasses.replace(
        IrcConfig(), limits=Limits(flood_rate=0, max_clients=members + 10), motd=None
    )
    server = Server(config)
    clients = []
    for i in range(members):
        sink = NullSink()
        client = server.connect(sink, ip=f"10.0.{i // 250}.{i % 250 + 1}")
        assert client is not None
        lines = [f"NICK u{i}", f"USER u{i} 0 * :u", "JOIN #bench"]
        if i % 2:
            lines[:0] = ["CAP LS 302", "CAP REQ :message-tags server-time"]
            lines.append("CAP END")
        server.receive(client, "".join(line + "\r\n" for line in lines).encode())
        clients.append(client)
    sender = clients[0]
    line = b"PRIVMSG #bench :hello everyone, this is a line of ordinary length\r\n"
    start = time.perf_counter()
    for _ in range(messages):
        server.receive(sender, line)
    elapsed = time.perf_counter() - start
    delivered = messages * (members - 1)
    print(
        f"{members} members, {messages} messages: {elapsed:.3f} s, "
        f"{elapsed / delivered * 1e9:.0f} ns per delivered message, "
        f"{elapsed / messages * 1e6:.0f} us per PRIVMSG"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
