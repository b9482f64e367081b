"""Bytes on air: what a radio user receives for a chat session, beside an IRC client.

One scripted session, played at the same time by a BPQ-style radio user (through the
real `gateway run`) and by an ordinary IRC client on the same server, each in #test:
log in, join, receive 20 channel messages, send 2, receive one private message, ask
who is in the channel, leave. Every byte each receives is counted, from the first
(the radio user's `Code:` prompt; the IRC client's welcome burst) to the close. The
IRC client asks for the capabilities irssi and WeeChat ask for.

    .venv/bin/python bench/bridge_bytes.py

Target (issue 7): the radio user receives at most 1/3 of what the IRC client does.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gateway_process import GatewayProcess, enroll, free_port

CAPS = "multi-prefix away-notify account-notify extended-join server-time message-tags"
LINES = [f"message {i:02d}: the net starts at 19:00 on 145.500, all welcome" for i in range(20)]


class Counted:
    """An IRC client socket that counts every byte it receives."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.bytes = 0
        self.buffer = b""

    async def until(self, *needles: bytes) -> None:
        """Read until one of `needles` has arrived."""
        async with asyncio.timeout(30):
            while not any(n in self.buffer for n in needles):
                chunk = await self.reader.read(65536)
                if not chunk:
                    raise RuntimeError(f"closed before {needles!r}")
                self.bytes += len(chunk)
                self.buffer += chunk
        needle = next(n for n in needles if n in self.buffer)
        self.buffer = self.buffer.split(needle, 1)[1]

    def send(self, line: str) -> None:
        self.writer.write(line.encode() + b"\r\n")

    def type(self, line: str) -> None:
        """A radio user's line: CR only, as from a packet terminal through the node."""
        self.writer.write(line.encode() + b"\r")

    async def drain_to_close(self) -> None:
        async with asyncio.timeout(30):
            while chunk := await self.reader.read(65536):
                self.bytes += len(chunk)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bpq, irc_port = free_port(), free_port()
        config = Path(tmp) / "gateway.yaml"
        config.write_text(
            f"data_dir: {tmp}/data\nauth: {{failure_pause: 0}}\n"
            f"irc: {{listen: [{{host: 127.0.0.1, port: {irc_port}}}]}}\n"
            f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {bpq},"
            " bytes_per_second: 1000000, packet_bytes: 256}]}\n"
            "bridge: {third_party: all}\n"
        )
        totp = enroll(config, "N0TEST")
        gw = GatewayProcess(config)
        await gw.start()
        try:
            radio_bytes, irc_bytes, plain_bytes = await session(
                bpq, irc_port, totp.at(time.time() + 30)
            )
        finally:
            await gw.stop()
    print("bytes received for one scripted chat session (login, join, 20 received,")
    print("2 sent, 1 private received, who, leave):")
    print(f"  radio user (BPQ telnet, CR LF):        {radio_bytes:6d}")
    print(f"  IRC client with irssi/WeeChat's caps:  {irc_bytes:6d}  ({CAPS})")
    print(f"  IRC client without capabilities:       {plain_bytes:6d}")
    print(f"  ratio radio / IRC (caps):  {radio_bytes / irc_bytes:.3f} (target <= 0.333)")
    print(f"  ratio radio / IRC (plain): {radio_bytes / plain_bytes:.3f}")
    print(f"  airtime at 1200 baud (~100 B/s): {radio_bytes / 100:.0f} s for the radio user")


async def irc_client(port: int, nick: str, caps: str) -> Counted:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    irc = Counted(reader, writer)
    if caps:
        irc.send(f"CAP LS 302\r\nCAP REQ :{caps}\r\nCAP END")
    irc.send(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}")
    await irc.until(b" 376 ", b" 422 ")  # end of MOTD, or none
    irc.send("JOIN #test")
    await irc.until(b" 366 ")
    return irc


async def session(bpq: int, irc_port: int, code: str) -> tuple[int, int, int]:
    irc = await irc_client(irc_port, "bob", CAPS)
    plain = await irc_client(irc_port, "carol", "")

    reader, writer = await asyncio.open_connection("127.0.0.1", bpq)
    radio = Counted(reader, writer)
    radio.writer.write(b"N0TEST\r\n")  # what the BPQ node sends first
    await radio.until(b"Code: ")
    radio.type(code)
    await radio.until(b"for help.\r\n")
    radio.type("/j #test")
    await radio.until(b"users.\r\n")

    reader, writer = await asyncio.open_connection("127.0.0.1", irc_port)
    alice = Counted(reader, writer)
    alice.send("NICK alice\r\nUSER alice 0 * :Alice\r\nJOIN #test")
    await alice.until(b" 366 ")
    for line in LINES:
        alice.send(f"PRIVMSG #test :{line}")
    alice.send("PRIVMSG bob,carol :are you on the net tonight?")
    alice.send("PRIVMSG N0TEST :are you on the net tonight?")
    await radio.until(b"tonight?\r\n")
    for client in (irc, plain):
        await client.until(b"tonight?\r\n")
    for i in range(2):
        radio.type(f"radio line {i}, 73")
        for client in (irc, plain):
            client.send(f"PRIVMSG #test :radio line {i}, 73")
    radio.type("/who")
    await radio.until(b"alice")
    for client in (irc, plain):
        client.send("WHO #test")
        await client.until(b" 315 ")
    radio.type("/b")
    await radio.drain_to_close()
    for client in (irc, plain):
        client.send("QUIT :73")
        await client.drain_to_close()
    alice.writer.close()
    return radio.bytes, irc.bytes, plain.bytes


if __name__ == "__main__":
    asyncio.run(main())
