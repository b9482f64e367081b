"""Airtime and speed of a ham's session, beside BPQ Chat's figures (issue 18).

Plays, through the real `gateway run` and a telnet socket in a BPQ listener's shape
(the callsign sent first, lines ending in CR; there is no LinBPQ node here, so the
node's own 0.1-0.3 s per hop is not in these figures), the issue's scripted
conversation: 5 partner lines before the join (the join history), join, 20 partner
lines of 8 to 240 characters, 5 own lines, 2 private messages each way, WHO, LIST,
leave, log out. Then a second session times `/?`. Prints the bytes the user receives
(the conversation, from the join to the leave's answer; and the whole session, from
the first byte to the close), the keystrokes (typed lines with their CR, the code
included), the median delay from a partner's line to the user, and the time from
`/?` to its last byte, and from `/B` to the close (`--shownames`: the user has typed
`/SH ON` before the conversation, its keystrokes counted). `--breakdown` sorts the
conversation's bytes by what they carry (the people's text, senders' names, line ends,
the gateway's own lines...), to see where airtime goes.

    .venv/bin/python bench/chat_airtime.py [--transcript] [--breakdown] [--shownames]
        [listener options, e.g. "bytes_per_second: 100"]

BPQ Chat on LinBPQ 6.0.25.23, same conversation (issue 18): 2,253 B conversation,
2,676 B session, 265 keystrokes, `/H` (1,047 B) in 0.30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bridge_bytes import Counted
from bench.gateway_process import GatewayProcess, enroll, free_port
from gateway.session.chatcommands import HELP_TEXT

WORDS = [
    "the",
    "net",
    "starts",
    "at",
    "nineteen",
    "hundred",
    "on",
    "the",
    "usual",
    "repeater",
    "all",
    "stations",
    "welcome",
]
BEFORE = [
    "anyone on tonight?",
    "QRV on 2m later, listening on the repeater",
    "wx here is clear, 12C and calm",
    "the net starts at 19:00 on 145.500, all welcome",
    "73 for now",
]
PARTNER = [8, 15, 22, 30, 40, 48, 55, 60, 64, 70, 80, 90, 100, 110, 120, 140, 160, 180, 210, 240]
#: What each session received, for --transcript.
SEEN: list[Recorded] = []
#: Seconds from /B to the close of the socket.
LOGOUT: list[float] = []
#: The conversation's bytes as received (join to leave), for --breakdown.
TALK: list[bytes] = []
OWN = ["good evening all", "QSL, 73 de N0TEST", "signal 59 here", "back in 5", "ok, QRT soon"]


def text_of(length: int, seed: int) -> str:
    words: list[str] = []
    i = seed
    while len(" ".join(words)) < length:
        words.append(WORDS[i % len(WORDS)])
        i += 3
    return " ".join(words)[:length].rstrip() or "x" * length


class Recorded:
    """A stream reader that keeps what it read (printed with --transcript)."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.data = b""

    async def read(self, n: int) -> bytes:
        chunk = await self.reader.read(n)
        self.data += chunk
        return chunk


class Ham(Counted):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.recorded = Recorded(reader)
        super().__init__(self.recorded, writer)  # type: ignore[arg-type]
        self.keys = 0

    def type(self, line: str) -> None:
        self.keys += len(line) + 1
        super().type(line)


async def connect(port: int, code: str) -> Ham:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    ham = Ham(reader, writer)
    SEEN.append(ham.recorded)
    ham.writer.write(b"N0TEST\r\n")  # what the node sends first
    await ham.until(b"Code: ")
    ham.type(code)
    await ham.until(b"for help.\r\n")
    return ham


async def irc(port: int, nick: str) -> Counted:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    alice = Counted(reader, writer)
    alice.send(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\nJOIN #test")
    await alice.until(b" 366 ")
    return alice


async def conversation(
    bpq: int, irc_port: int, code: str, show_names: bool
) -> tuple[int, int, int, float]:
    alice = await irc(irc_port, "alice")
    for line in BEFORE:
        alice.send(f"PRIVMSG #test :{line}")
    ham = await connect(bpq, code)
    if show_names:  # the user's own setting, before the conversation is counted
        ham.type("/sh on")
        await ham.until(b"ShowNames on.\r\n")
    start = ham.bytes
    ham.type("/j #test")
    await ham.until(BEFORE[-1].encode() + b"\r\n")
    delays: list[float] = []
    for i, length in enumerate(PARTNER):
        line = f"{text_of(length - 3, i)} {i:02d}"  # the number ends it, whatever the wrap
        sent = time.perf_counter()
        alice.send(f"PRIVMSG #test :{line}")
        await ham.until(f" {i:02d}\r\n".encode())
        delays.append(time.perf_counter() - sent)
        if i % 4 == 3:
            own = OWN[i // 4]
            ham.type(own)
            await alice.until(own.encode())
        if i in (6, 13):
            alice.send(f"PRIVMSG N0TEST :private {i}, are you there?")
            await ham.until(f"private {i}, are you there?\r\n".encode())
            ham.type(f"/s alice yes, private {i}")
            await alice.until(f"yes, private {i}".encode())
    ham.type("/w")
    await ham.until(b"alice")
    await ham.until(b"\r\n")
    ham.type("/li")
    await ham.until(b"#test")
    await ham.until(b"\r\n")
    ham.type("/le")
    await ham.until(b"Left #test")
    await ham.until(b"\r\n")
    talk = ham.bytes - start
    TALK.append(ham.recorded.data[start : start + talk])
    bye = time.perf_counter()
    ham.type("/b")
    await ham.drain_to_close()
    LOGOUT.append(time.perf_counter() - bye)
    alice.writer.close()
    return talk, ham.bytes, ham.keys, statistics.median(delays)


async def help_time(bpq: int, code: str) -> tuple[float, int]:
    ham = await connect(bpq, code)
    start = ham.bytes
    last = HELP_TEXT.split("\n")[-1].encode() + b"\r\n"
    sent = time.perf_counter()
    ham.type("/?")
    await ham.until(last, b"more? ")
    took = time.perf_counter() - sent
    size = ham.bytes - start
    if ham.recorded.data.endswith(b"more? (Enter/N) "):
        ham.type("n")
    ham.type("/b")
    await ham.drain_to_close()
    return took, size


#: A line someone said in the channel: its time (/STAMP, history) and sender's name,
#: or `: ` alone right under the same sender's line.
_SAID = re.compile(r"(\d\d:\d\d )?([^\s:]*): ")
_PRIVATE = re.compile(r"\*[^\s*]+\* ")


def breakdown(data: bytes) -> list[tuple[str, int, int]]:
    """(what, bytes, lines) of the conversation `data`, each byte counted once."""
    rows = {
        k: [0, 0]
        for k in (
            "text said (channel and private)",
            "senders' names (`alice: `)",
            "the same sender again (`: `)",
            "times (`HH:MM `)",
            "private prefixes (`*alice* `)",
            "wrap indents (`  `)",
            "line ends (CR LF)",
            "the gateway's own lines (join, WHO, LIST, leave)",
        )
    }
    names = list(rows)
    kind = ""
    for line in data.decode("ascii").split("\r\n")[:-1]:
        rows[names[6]][0] += 2
        rows[names[6]][1] += 1
        said, private = _SAID.match(line), _PRIVATE.match(line)
        if line.startswith("  ") and kind:
            head = [(names[5], 2)]
        elif said:
            kind = "said"
            rows[names[0]][1] += 1
            stamp, name = said.group(1) or "", said.group(2)
            head = [(names[3], len(stamp)), (names[1] if name else names[2], len(name) + 2)]
        elif private:
            kind = "said"
            rows[names[0]][1] += 1
            head = [(names[4], private.end())]
        else:
            kind = ""
            head = [(names[7], len(line))]
        for what, size in head:
            if size:
                rows[what][0] += size
                rows[what][1] += 1
        if kind:
            rows[names[0]][0] += len(line) - sum(size for _, size in head)
    return [(what, size, count) for what, (size, count) in rows.items()]


async def main(pace: str, transcript: bool, split: bool, show_names: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bpq, irc_port = free_port(), free_port()
        config = Path(tmp) / "gateway.yaml"
        extra = f", {pace}" if pace else ""
        config.write_text(
            f"data_dir: {tmp}/data\nauth: {{failure_pause: 0}}\n"
            # The partner is not flood-limited: the delays are the gateway's own.
            f"irc: {{listen: [{{host: 127.0.0.1, port: {irc_port}}}],"
            " exempt: {flood: {ip: 127.0.0.1}}}\n"
            f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {bpq}{extra}}}]}}\n"
            "bridge: {third_party: all}\n"
        )
        totp = enroll(config, "N0TEST")
        gw = GatewayProcess(config)
        await gw.start()
        try:
            step = int(time.time() // 30)
            code = totp.at(step * 30)
            talk, total, keys, delay = await conversation(bpq, irc_port, code, show_names)
            took, size = await help_time(bpq, totp.at(step * 30 + 30))
        finally:
            await gw.stop()
    if transcript:
        for recorded in SEEN:
            print(recorded.data.decode().replace("\r\n", "\n"))
    print(f"listener: BPQ shape, {pace or 'default pacing'}{', /SH ON' if show_names else ''}")
    print(f"  bytes received, conversation (join to leave): {talk:6d}   BPQ Chat 2,253")
    print(f"  bytes received, whole session:                {total:6d}   BPQ Chat 2,676")
    print(f"  keystrokes, whole session:                    {keys:6d}   BPQ Chat 265")
    ms = delay * 1000
    print(f"  median delay, partner's line to the user:     {ms:6.1f} ms  BPQ Chat 310 ms")
    print(f"  /B to the close (the node's prompt):         {LOGOUT[0]:6.2f} s   BPQ Chat 0.41 s")
    print(f"  /? ({size} B) to its last byte:              {took:6.2f} s   BPQ Chat /H 0.30 s")
    if split:
        print("conversation, byte by byte (bytes, lines):")
        for what, size, count in breakdown(TALK[0]):
            print(f"  {what:50s} {size:6d} {count:4d}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transcript", action="store_true", help="print what was received")
    parser.add_argument("--breakdown", action="store_true", help="the conversation by kind")
    parser.add_argument("--shownames", action="store_true", help="the user types /SH ON first")
    parser.add_argument("listener", nargs="*", help='listener options: "bytes_per_second: 100"')
    args = parser.parse_args()
    asyncio.run(main(" ".join(args.listener), args.transcript, args.breakdown, args.shownames))
