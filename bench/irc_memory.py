"""Memory one connection can make the embedded IRC server hold, structure by structure.

Prints figures, asserts nothing (it is never run as a test). The sans-IO core runs in
this process (no sockets: what is measured is the server's tables, not kernel buffers);
`--clients` N clients register, then each fills one structure to its bound with the
longest names the limits allow, and tracemalloc's growth divided by N is the cost of
that structure per connection:

- `registered`: a client that registered with every capability, nothing else;
- `markread`: `readmarkers.MAX_PER_OWNER` MARKREADs, each to another 30-character nick;
- `monitor`: `monitor.LIMIT` nicks of 30 characters;
- `metadata-keys`: `metadata.MAX_KEYS` keys of `MAX_KEY_LEN` bytes, values of `MAX_VALUE`;
- `metadata-subs`: `metadata.MAX_SUBS` subscriptions of `MAX_KEY_LEN` bytes;
- `away`: an AWAY of `limits.awaylen` characters;
- `channel`: a channel of 50 characters made, with a topic of `limits.topiclen`, and
  `metadata.MAX_KEYS` keys (its +b/+e/+I lists are not filled: `chanlists.py` bounds
  them, `limits.max_list_entries`); a client may make `max_channels_per_client` of them,
  all clients together `max_channels`.

The sum of the per-client rows is the worst case per connection; the channel row is per
channel, bounded in all by `max_channels`.

    python bench/irc_memory.py [--clients 100]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import random
import string
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

from ircd import metadata, monitor, readmarkers
from ircd.client import Client
from ircd.config import IrcConfig, Limits
from ircd.server import Server

CAPS = "message-tags batch draft/read-marker draft/metadata-2 draft/chathistory"


class _Timer:
    def cancel(self) -> None:
        pass


class _Scheduler:
    """Timers are never due here: the measurement takes no time on the server's clock."""

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> _Timer:
        return _Timer()


def _ignore(*_: object) -> None:
    """Output and flow control: nothing to do, only the tables are measured."""


class _Sink:
    write = close = pause_reading = resume_reading = staticmethod(_ignore)


def _word(rng: random.Random, n: int, first: str = "") -> str:
    return first + "".join(rng.choices(string.ascii_lowercase, k=n - len(first)))


def _lines(kind: str, rng: random.Random, limits: Limits) -> Iterator[str]:
    if kind == "markread":
        for _ in range(readmarkers.MAX_PER_OWNER):
            yield f"MARKREAD {_word(rng, 30, 'r')} timestamp=2026-01-01T00:00:00.000Z"
    elif kind == "monitor":
        nicks = [_word(rng, 30, "w") for _ in range(monitor.LIMIT)]
        for i in range(0, len(nicks), 10):
            yield "MONITOR + " + ",".join(nicks[i : i + 10])
    elif kind == "metadata-keys":
        value = "v" * metadata.MAX_VALUE
        for _ in range(metadata.MAX_KEYS):
            yield f"METADATA * SET {_word(rng, metadata.MAX_KEY_LEN, 'k')} :{value}"
    elif kind == "metadata-subs":
        keys = [_word(rng, metadata.MAX_KEY_LEN, "s") for _ in range(metadata.MAX_SUBS)]
        for i in range(0, len(keys), 5):
            yield "METADATA * SUB " + " ".join(keys[i : i + 5])
    elif kind == "away":
        yield "AWAY :" + "a" * limits.awaylen
    elif kind == "channel":
        channel = _word(rng, limits.channellen, "#")
        yield f"JOIN {channel}"
        yield f"TOPIC {channel} :" + "t" * limits.topiclen
        value = "v" * metadata.MAX_VALUE
        for _ in range(metadata.MAX_KEYS):
            yield f"METADATA {channel} SET {_word(rng, metadata.MAX_KEY_LEN, 'c')} :{value}"


def measure(kind: str, clients: int, seed: int = 1) -> float:
    """Bytes per client that `kind` adds (`registered`: registering itself)."""
    limits = Limits(flood_rate=0, max_per_address=0)
    config = dataclasses.replace(IrcConfig(), motd="hi", limits=limits)
    server = Server(config, scheduler=_Scheduler())
    rng = random.Random(seed)

    def register(i: int) -> Client:
        client = server.connect(_Sink(), ip=f"10.{i // 250}.{i % 250}.1")
        assert client is not None
        nick = _word(rng, 30, "m")
        for line in ("CAP LS 302", f"CAP REQ :{CAPS}", f"NICK {nick}", f"USER u 0 * :{nick}"):
            server.receive(client, line.encode() + b"\r\n")
        server.receive(client, b"CAP END\r\n")
        assert client.registered, kind
        return client

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    everyone = [register(i) for i in range(clients)]
    if kind != "registered":
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for client in everyone:
            data = "".join(line + "\r\n" for line in _lines(kind, rng, limits)).encode()
            server.receive(client, data)
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return grown / clients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    args = parser.parse_args()
    per_client = ["registered", "markread", "monitor", "metadata-keys", "metadata-subs", "away"]
    total = 0.0
    for kind in per_client:
        cost = measure(kind, args.clients)
        total += cost
        print(f"{kind:14} {cost / 1024:8.1f} KiB per connection")
    print(f"{'worst case':14} {total / 1024:8.1f} KiB per connection (the rows above)")
    channel = measure("channel", args.clients)
    print(f"{'channel':14} {channel / 1024:8.1f} KiB per channel (topic, metadata; no b/e/I)")
    print(f"RESULT per_connection_kib={total / 1024:.1f} per_channel_kib={channel / 1024:.1f}")


if __name__ == "__main__":
    main()
