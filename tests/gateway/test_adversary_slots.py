"""Adversary suite, issue 19 finding 2: a flood of connections keeps no owner out of the
login slots.

Each row plays one flood of finding 2 at ten times the rate measured there against the
real `gateway run` over loopback sockets (a fake KISS TNC on TCP for the AX.25 port),
while owners log in, each taking `TYPING` seconds to type the code; it asserts that at
least 7 of 8 owners get in, and prints `slots: <row>: owner N/8` for SECURITY.md.

- BPQ listener: a connection claiming a fresh callsign every 0.2 s (10 x 0.5/s). The
  owners have logged in through the node before (their familiar source).
- Direct listener: silent connections at 20/s (10 x 2/s) from as many addresses. The
  owners are strangers there; each types its callsign in two parts a second apart.
- AX.25 port with 3 slots: SABM from a forged callsign at 5/s (10 x 0.5/s), on the
  owners' own (direct) path. The owners have logged in on air before.

`.venv/bin/python -m tests.gateway.test_adversary_slots --scale 100` plays the rows at
another multiple of the measured rates (README states where it stops holding).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import string
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest

from radio.ax25 import Address, Frame, FrameType, decode
from radio.kiss import Command, KissDecoder, KissFrame, encode
from tests.gateway.support import GatewayProcess, enroll, free_port, run_cli

RUNS = 8
MIN_IN = 7
#: Seconds an owner takes to type the code once asked for it.
TYPING = 10.0
#: The rates finding 2 measured (per second); the rows play them times `scale`.
MEASURED = {"bpq": 0.5, "direct": 2.0, "ax25": 0.5}
#: Owners logging in at once: fewer than the slots, so they do not push out each other.
PARALLEL = {"bpq": 4, "direct": 2, "ax25": 2}
GATEWAY = Address("N0GW", 10)
EVICTED = b"Too many logins"
#: Longest an owner's whole try may take before it counts as kept out.
TRY_FOR = TYPING + 20.0


def gateway_yaml(tmp_path: Path, bpq: int, direct: int, tnc: int) -> Path:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        "callsign: N0GW-10\n"
        f"irc: {{listen: [{{host: 127.0.0.1, port: {free_port()}}}]}}\n"
        "telnet: {listen: ["
        f"{{name: node1, host: 127.0.0.1, port: {bpq}, bpq: true, bytes_per_second: 1000000}},"
        f" {{name: direct, host: 127.0.0.1, port: {direct}, bpq: false}}]}}\n"
        f'radio: {{ports: [{{name: vhf, tcp: "127.0.0.1:{tnc}", max_unauthenticated: 3}}]}}\n'
    )
    return config


def fresh_callsigns(prefix: str) -> Iterator[str]:
    """W0AAA, W1AAA, ...: invented, valid, never the same twice."""
    letters = string.ascii_uppercase
    for i in itertools.count():
        a, b, c = (i // 10) % 26, (i // 260) % 26, (i // 6760) % 26
        yield f"{prefix}{i % 10}{letters[c]}{letters[b]}{letters[a]}"


@dataclass
class Flood:
    """Starts `open_one(i)` `rate` times a second until cancelled; each runs on its own."""

    rate: float
    open_one: Callable[[int], Awaitable[None]]
    started: int = 0
    began: float = 0.0

    def achieved(self) -> float:
        """Connections (or SABMs) started per second so far."""
        return self.started / max(1e-9, asyncio.get_running_loop().time() - self.began)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[None]] = set()
        self.began = start = loop.time()
        try:
            for i in itertools.count(1):
                task = loop.create_task(self.open_one(i))
                self.started = i
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                await asyncio.sleep(max(0.0, start + i / self.rate - loop.time()))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def hold_telnet(port: int, first: bytes = b"", local: str = "127.0.0.1") -> None:
    """A flood connection: says `first` (or nothing) and holds its slot until dropped."""
    with contextlib.suppress(OSError):
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(local, 0))
        try:
            if first:
                writer.write(first)
            while await reader.read(4096):
                pass
        finally:
            writer.close()


async def read_until(reader: asyncio.StreamReader, needle: bytes, got: bytearray) -> bool:
    """Read until `needle`; False if the connection was dropped or closed first."""
    while needle not in got:
        chunk = await reader.read(4096)
        if not chunk or EVICTED in got + chunk:
            return False
        got += chunk
    del got[: got.index(needle) + len(needle)]
    return True


async def telnet_owner(
    port: int,
    call: str,
    code: Callable[[], str],
    typing: float,
    *,
    bpq: bool,
    local: str,
    prompted: asyncio.Event | None = None,
) -> bool:
    """One owner's login, `typing` seconds to type the code: True if it got in.
    `prompted` is set once it is asked for the code (or has failed)."""
    with contextlib.suppress(OSError):
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(local, 0))
        got = bytearray()
        try:
            async with asyncio.timeout(TRY_FOR):
                if bpq:
                    writer.write(call.encode() + b"\r\n")  # the node sends it at once
                else:
                    if not await read_until(reader, b"Callsign: ", got):
                        return False
                    writer.write(call[:2].encode())  # typed by hand: part of it, then more
                    await asyncio.sleep(1.0)
                    writer.write(call[2:].encode() + b"\r\n")
                if not await read_until(reader, b"Code: ", got):
                    return False
                if prompted is not None:
                    prompted.set()
                await asyncio.sleep(typing)
                writer.write(code().encode() + b"\r")
                return await read_until(reader, b"/? for help.", got)
        except (TimeoutError, OSError):
            return False
        finally:
            writer.close()
            if prompted is not None:
                prompted.set()
    return False


class FakeTnc:
    """A KISS TNC on TCP that the gateway's radio port connects to; frames for the
    owners' callsigns reach their `Ax25Owner`, the rest (to flooders) are dropped."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0
        self.writer: asyncio.StreamWriter | None = None
        self.connected = asyncio.Event()
        self.peers: dict[str, asyncio.Queue[Frame]] = {}

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.connected.set()
        decoder = KissDecoder()
        while data := await reader.read(4096):
            for kiss in decoder.feed(data):
                if kiss.command is not Command.DATA:
                    continue
                frame = decode(kiss.payload)
                inbox = self.peers.get(str(Address(frame.dest.call, frame.dest.ssid)))
                if inbox is not None:
                    inbox.put_nowait(frame)

    def send(self, frame: Frame) -> None:
        assert self.writer is not None
        self.writer.write(encode(KissFrame(0, Command.DATA, frame.encode())))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.server is not None:
            self.server.close()


class Ax25Owner:
    """The owner's side of one AX.25 link: just enough LAPB for a login on a clean channel."""

    def __init__(self, tnc: FakeTnc, call: str) -> None:
        self.tnc = tnc
        self.me = Address.parse(call)
        self.inbox: asyncio.Queue[Frame] = asyncio.Queue()
        tnc.peers[call] = self.inbox
        self.vr = self.vs = 0
        self.text = b""

    def _send(self, kind: FrameType, **fields: object) -> None:
        self.tnc.send(Frame.build(kind, dest=GATEWAY, source=self.me, **fields))  # type: ignore[arg-type]

    async def connect(self) -> bool:
        self._send(FrameType.SABM, pf=True)
        while True:
            frame = await self.inbox.get()
            if frame.kind in (FrameType.UA, FrameType.DM):
                return frame.kind is FrameType.UA

    async def until(self, needle: bytes) -> bool:
        """Take frames, acknowledging I frames, until `needle` was received; False on
        DM or DISC (dropped)."""
        while needle not in self.text:
            frame = await self.inbox.get()
            if frame.kind in (FrameType.DM, FrameType.DISC):
                return False
            if frame.kind is FrameType.I:
                if frame.ns == self.vr:
                    self.vr = (self.vr + 1) % 8
                    self.text += frame.info
                self._send(FrameType.RR, command=False, nr=self.vr, pf=frame.pf)
            elif frame.is_command and frame.pf:  # a poll: answer it
                self._send(FrameType.RR, command=False, nr=self.vr, pf=True)
        self.text = self.text[self.text.index(needle) + len(needle) :]
        return True

    def line(self, text: str) -> None:
        self._send(FrameType.I, nr=self.vr, ns=self.vs, info=text.encode() + b"\r")
        self.vs = (self.vs + 1) % 8

    async def disconnect(self) -> None:
        self._send(FrameType.DISC, pf=True)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                while (await self.inbox.get()).kind not in (FrameType.UA, FrameType.DM):
                    pass


async def ax25_owner(
    tnc: FakeTnc,
    call: str,
    code: Callable[[], str],
    typing: float,
    prompted: asyncio.Event | None = None,
) -> bool:
    owner = Ax25Owner(tnc, call)
    try:
        async with asyncio.timeout(TRY_FOR):
            if not await owner.connect() or not await owner.until(b"Code: "):
                return False
            if prompted is not None:
                prompted.set()
            await asyncio.sleep(typing)
            owner.line(code())
            if not await owner.until(b"/? for help."):
                return False
        await owner.disconnect()
        return True
    except TimeoutError:
        return False
    finally:
        tnc.peers.pop(call, None)
        if prompted is not None:
            prompted.set()


@dataclass
class Rig:
    gw: GatewayProcess
    config: Path
    bpq: int
    direct: int
    tnc: FakeTnc


@contextlib.asynccontextmanager
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    tnc = FakeTnc()
    await tnc.start()
    bpq, direct = free_port(), free_port()
    config = gateway_yaml(tmp_path, bpq, direct, tnc.port)
    gw = GatewayProcess(config)
    try:
        yield Rig(gw, config, bpq, direct, tnc)
    finally:
        gw.kill()
        if gw.proc is not None:
            await gw.proc.wait()
        tnc.close()


async def owners(rig: Rig, row: str) -> list[tuple[str, pyotp.TOTP]]:
    """Eight owners enrolled (before the gateway starts); on the BPQ and AX.25 rows each
    one's way in is familiar (earned on earlier days; here, the sysop's word), then each
    logs in once through it."""
    enrolled = [(f"K{i}OWN", enroll(rig.config, f"K{i}OWN")) for i in range(RUNS)]
    homes = {"bpq": "telnet:node1:call:{}", "ax25": "ax25:vhf:direct:call:{}"}
    for call, _ in enrolled:
        if row in homes:
            trusted = run_cli(rig.config, "sources", "trust", call, homes[row].format(call))
            assert trusted.returncode == 0, trusted.stderr
    await rig.gw.start()
    async with asyncio.timeout(20):
        await rig.tnc.connected.wait()
    for call, totp in enrolled:
        if row == "bpq":
            assert await telnet_owner(rig.bpq, call, totp.now, 0, bpq=True, local="127.0.0.1")
        elif row == "ax25":
            assert await ax25_owner(rig.tnc, call, totp.now, 0)
    return enrolled


def next_code(totp: pyotp.TOTP) -> Callable[[], str]:
    """The code the app shows when the owner has typed it: a step after any used so far."""
    return lambda: totp.at(time.time() + 30)


def label(row: str, rate: float) -> str:
    return {
        "bpq": f"BPQ listener, a fresh callsign claimed {rate:g}/s",
        "direct": f"direct listener, silent connections at {rate:g}/s",
        "ax25": f"AX.25 port (3 slots), SABM from a forged callsign {rate:g}/s",
    }[row]


async def play(rig: Rig, row: str, scale: float) -> tuple[int, float]:
    """The row's flood at `scale` times the measured rate while eight owners log in, a
    few at a time: how many got in, and the flood's rate achieved."""
    enrolled = await owners(rig, row)
    rate = MEASURED[row] * scale
    calls = fresh_callsigns("W")

    async def open_one(i: int) -> None:
        if row == "bpq":
            await hold_telnet(rig.bpq, next(calls).encode() + b"\r\n")
        elif row == "direct":  # an address of its own each, as from a botnet
            await hold_telnet(rig.direct, local=f"127.0.{10 + i // 250 % 200}.{2 + i % 250}")
        else:
            source = Address.parse(next(calls))
            rig.tnc.send(Frame.build(FrameType.SABM, dest=GATEWAY, source=source, pf=True))

    def trial(n: int, call: str, totp: pyotp.TOTP, prompted: asyncio.Event) -> Awaitable[bool]:
        if row == "ax25":
            return ax25_owner(rig.tnc, call, next_code(totp), TYPING, prompted)
        port, bpq = (rig.bpq, True) if row == "bpq" else (rig.direct, False)
        local = "127.0.0.1" if bpq else f"127.1.0.{n + 1}"
        return telnet_owner(
            port, call, next_code(totp), TYPING, bpq=bpq, local=local, prompted=prompted
        )

    async def batch(first: int) -> int:
        """Owners typing their codes at the same time, each connecting once the one
        before is at its code prompt (as people do, not in the same millisecond)."""
        tries: list[asyncio.Task[bool]] = []
        for n in range(first, min(first + PARALLEL[row], RUNS)):
            prompted = asyncio.Event()
            tries.append(asyncio.ensure_future(trial(n, *enrolled[n], prompted)))
            await prompted.wait()
        return sum(await asyncio.gather(*tries))

    mark = len(rig.gw.log)
    flood = Flood(rate, open_one)
    flooding = asyncio.create_task(flood.run())
    try:
        # The flood is on once it has pushed out its own first connections.
        await rig.gw.wait_log(r"still logging in dropped for newcomers", mark)
        got_in = sum([await batch(first) for first in range(0, RUNS, PARALLEL[row])])
        return got_in, flood.achieved()
    finally:
        flooding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flooding


@pytest.mark.slow
@pytest.mark.parametrize("row", ["bpq", "direct", "ax25"])
async def test_a_flood_at_ten_times_the_rate_measured_keeps_no_owner_out(
    tmp_path: Path, row: str
) -> None:
    async with rig(tmp_path) as r:
        got_in, achieved = await play(r, row, 10)
    print(f"slots: {label(row, MEASURED[row] * 10)}: owner {got_in}/{RUNS} ({achieved:.1f}/s)")
    assert got_in >= MIN_IN
    assert achieved > MEASURED[row] * 10 * 0.9  # the flood kept its pace


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0, help="times the measured rates")
    parser.add_argument("--rows", default="bpq,direct,ax25")
    args = parser.parse_args()
    for row in args.rows.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            async with rig(Path(tmp)) as r:
                got_in, achieved = await play(r, row, args.scale)
        rate = MEASURED[row] * args.scale
        print(f"slots: {label(row, rate)}: owner {got_in}/{RUNS} ({achieved:.1f}/s)", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
