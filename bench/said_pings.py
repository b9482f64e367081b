"""What the `PING :said-N` after a radio user's lines costs on ngircd as it ships (issue 20).

On an external network the gateway follows a radio user's line with a PING, whose PONG
says the server took it (the lines never confirmed are named when a link is lost).
ngircd, with its stock flood settings, lets a client a few commands ahead and then
charges each command time (about three a second): a PING per line doubles what a
pasted burst costs. It never kills for it (its read buffer fills and TCP waits).

Two measures, against a real ngircd with its stock penalties (`irc_peers.ngircd(...,
stock_flood=True)`):

1. Raw clients: a burst of N channel lines in one write, alone, each followed by a
   PING, or followed by one PING at the end; the time until a channel member has them
   all, and whether the sender was sent away (`ERROR`).
2. The real `gateway run` in external mode: a BPQ telnet user pastes N lines at once;
   the time until a channel member has them all, and whether the user's link survived.

    .venv/bin/python bench/said_pings.py [--lines 5 10 20 40]

Prints one line per case; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import irc_peers as peers
from bench.gateway_process import GatewayProcess, enroll, free_port

TEXT = "x" * 60  # a chat line of about 70 characters
WAIT = 120.0


class Irc:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def joined(cls, port: int, nick: str) -> Irc:
        irc = cls(*await asyncio.open_connection("127.0.0.1", port))
        irc.writer.write(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n".encode())
        await irc.until(b" 376 ", b" 422 ")
        irc.writer.write(b"JOIN #net\r\n")
        await irc.until(b" 366 ")
        return irc

    async def until(self, *marks: bytes) -> bytes:
        while line := await self.reader.readline():
            if line.startswith(b"PING"):
                self.writer.write(b"PONG" + line[4:])
            if any(mark in line for mark in marks):
                return line
        return b""

    async def count(self, n: int, source: bytes) -> float | None:
        """Seconds until `n` channel lines from `source` came (None: they did not)."""
        start, got = time.monotonic(), 0
        try:
            async with asyncio.timeout(WAIT):
                while got < n:
                    line = await self.until(b"PRIVMSG #net")
                    if not line:
                        return None
                    got += line.startswith(b":" + source)
        except TimeoutError:
            return None
        return time.monotonic() - start

    def close(self) -> None:
        self.writer.close()


async def raw(n: int, ping: str) -> str:
    with tempfile.TemporaryDirectory() as d:
        peer = peers.ngircd(Path(d), stock_flood=True)
        await peer.start()
        try:
            sender, member = (
                await Irc.joined(peer.port, "sender"),
                await Irc.joined(peer.port, "member"),
            )
            lines = []
            for i in range(n):
                lines.append(f"PRIVMSG #net :{i} {TEXT}\r\n")
                if ping == "each" or (ping == "end" and i == n - 1):
                    lines.append(f"PING :said-{i}\r\n")
            sender.writer.write("".join(lines).encode())
            took = await member.count(n, b"sender!")
            sender.writer.write(b"PING :last\r\n")
            last = await sender.until(b"PONG", b"ERROR")
            sent_away = last.decode().strip() if last.startswith(b"ERROR") else "no"
            sender.close()
            member.close()
        finally:
            await peer.stop()
    return f"raw, PING {ping:4}: {n:3} lines in {_s(took)}, sent away: {sent_away}"


async def through_gateway(n: int) -> str:
    with tempfile.TemporaryDirectory() as d:
        peer = peers.ngircd(Path(d) / "ircd", stock_flood=True)
        await peer.start()
        bpq = free_port()
        config = Path(d) / "gateway.yaml"
        config.write_text(
            f"data_dir: {Path(d) / 'data'}\nauth: {{failure_pause: 0}}\n"
            "irc:\n  mode: external\n  network: TestNet\n"
            f"  external: {{host: 127.0.0.1, port: {peer.port}, tls: false,"
            f" webirc_password: {peers.WEBIRC_PASSWORD}}}\n"
            f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {bpq}, bpq: true,"
            " bytes_per_second: 1000000, packet_bytes: 4096}]}\n"
            "bridge: {third_party: all}\n"
        )
        totp = enroll(config, "N0TEST")
        gw = GatewayProcess(config)
        try:
            await gw.start()
            await gw.wait_log("the service nick .* is on IRC")
            member = await Irc.joined(peer.port, "member")
            reader, writer = await asyncio.open_connection("127.0.0.1", bpq)
            writer.write(b"N0TEST-5\r\n")
            await reader.readuntil(b"Code: ")
            writer.write(totp.at(int(time.time() // 30) * 30).encode() + b"\r")
            await reader.readuntil(b"/? for help.\r\n")
            writer.write(b"/j #net\r")
            await reader.readuntil(b"Joined #net")
            writer.write(b"".join(f"{i} {TEXT}\r".encode() for i in range(n)))
            took = await member.count(n, b"N0TEST-5!")
            writer.write(b"/who\r")  # the link is still up if this is answered
            answer = await asyncio.wait_for(reader.readuntil(b"member"), WAIT)
            lost = b"IRC network lost" in answer
            writer.close()
            member.close()
        finally:
            await gw.stop()
            await peer.stop()
    return f"gateway: {n:3} lines in {_s(took)}, link lost: {lost}"


def _s(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:5.1f} s"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[5, 10, 20, 40])
    parser.add_argument("--no-gateway", action="store_true", help="the raw clients only")
    args = parser.parse_args()
    for n in args.lines:
        for ping in ("none", "each", "end"):
            print(await raw(n, ping), flush=True)
        if not args.no_gateway:
            print(await through_gateway(n), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
