"""Which project modules one line passes through, traced at run time (issue 23).

The whole gateway runs in this process (`Gateway` on the embedded server, a BPQ telnet
listener); a BPQ-style radio user and an IRC client, both on real loopback sockets, sit
in #test. A `sys.setprofile` tracer records every call into and return to a project
module (`gateway/`, `ircd/`, `radio/`) from the moment one line is written until the
other side has read it:

- radio: the radio user's line to the IRC member's socket;
- irc: the IRC member's PRIVMSG to the radio user's socket.

For each path it prints the modules entered (in order of first entry), their count, and
how many times control came back into a module it had already left (a measure of how
much the path zig-zags). Timers and other tasks that happen to run meanwhile are
counted too; run it a few times (the figures are the minimum over `--runs`).

    .venv/bin/python bench/trace_paths.py [--runs 5] [--list]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gateway_process import enroll, free_port  # noqa: E402
from gateway.app import Gateway  # noqa: E402
from gateway.config import load_config  # noqa: E402

PACKAGES = tuple(str(ROOT / p) + "/" for p in ("gateway", "ircd", "radio"))


class Tracer:
    """Module-level call/return events in project code, while installed."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self._names: dict[str, str | None] = {}

    def _module(self, frame: FrameType) -> str | None:
        path = frame.f_code.co_filename
        name = self._names.get(path, "")
        if name == "":
            name = None
            if path.startswith(PACKAGES):
                name = str(Path(path).relative_to(ROOT))
            self._names[path] = name
        return name

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event not in ("call", "return"):
            return
        # On return, control goes back to the caller's module.
        where = frame if event == "call" else frame.f_back
        module = self._module(where) if where is not None else None
        if module is not None and (not self.events or self.events[-1] != module):
            self.events.append(module)

    def start(self) -> None:
        self.events = []
        sys.setprofile(self)

    def stop(self) -> None:
        sys.setprofile(None)


def summary(events: list[str]) -> tuple[list[str], int]:
    """Modules in order of first entry, and the re-entries into a module already left."""
    seen: list[str] = []
    back = 0
    for module in events:
        if module in seen:
            back += 1
        else:
            seen.append(module)
    return seen, back


class Peer:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.buffer = b""

    async def until(self, needle: bytes) -> None:
        async with asyncio.timeout(30):
            while needle not in self.buffer:
                chunk = await self.reader.read(65536)
                if not chunk:
                    raise RuntimeError(f"closed before {needle!r}")
                self.buffer += chunk
        self.buffer = self.buffer.split(needle, 1)[1]


async def trace(
    config_path: Path, code: str, bpq: int, irc_port: int, runs: int, show: bool
) -> None:
    gateway = Gateway(load_config(config_path))
    await gateway.start()
    try:
        r, w = await asyncio.open_connection("127.0.0.1", irc_port)
        alice = Peer(r, w)
        w.write(b"NICK alice\r\nUSER alice 0 * :alice\r\nJOIN #test\r\n")
        await alice.until(b" 366 ")
        r, w = await asyncio.open_connection("127.0.0.1", bpq)
        ham = Peer(r, w)
        w.write(b"N0TEST\r\n")
        await ham.until(b"Code: ")
        w.write(code.encode() + b"\r")
        await ham.until(b"for help.\r\n")
        w.write(b"/j #test\r")
        await ham.until(b"user")
        await ham.until(b"\r\n")
        await asyncio.sleep(0.5)  # let the join's own traffic settle
        ham.buffer = b""
        tracer = Tracer()
        best: dict[str, tuple[list[str], int]] = {}
        for i in range(runs):
            for path in ("radio", "irc"):
                text = f"trace {path} {i}"
                tracer.start()
                if path == "radio":
                    ham.writer.write(text.encode() + b"\r")
                    await alice.until(text.encode())
                else:
                    alice.writer.write(f"PRIVMSG #test :{text}\r\n".encode())
                    await ham.until(text.encode())
                tracer.stop()
                result = summary(tracer.events)
                if path not in best or len(result[0]) < len(best[path][0]):
                    best[path] = result
                await asyncio.sleep(0.2)
        for path, (modules, back) in best.items():
            what = {"radio": "radio user's line (telnet) to a channel member",
                    "irc": "IRC PRIVMSG to a radio user (telnet)"}[path]  # fmt: skip
            print(f"{what}: {len(modules)} modules, {back} returns into a module already left")
            if show:
                for module in modules:
                    print(f"    {module}")
        ham.writer.write(b"/b\r")
    finally:
        await gateway.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--list", action="store_true", help="print the modules of each path")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        bpq, irc_port = free_port(), free_port()
        config = Path(tmp) / "gateway.yaml"
        config.write_text(
            f"data_dir: {tmp}/data\nauth: {{failure_pause: 0}}\n"
            f"irc: {{listen: [{{host: 127.0.0.1, port: {irc_port}}}]}}\n"
            f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {bpq},"
            " bytes_per_second: 1000000}]}\n"
            "bridge: {third_party: all}\n"
        )
        totp = enroll(config, "N0TEST")
        code = totp.at(int(time.time() // 30) * 30)
        asyncio.run(trace(config, code, bpq, irc_port, args.runs, args.list))


if __name__ == "__main__":
    main()
