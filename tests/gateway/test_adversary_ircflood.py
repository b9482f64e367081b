"""Issue 19, finding 4, played against the real gateway: registering sockets from many
addresses, and the connection throttle, never keep an owner out of the IRC server.

Before the fix, 65 addresses x 16 silent sockets (each reconnecting when dropped)
filled `max_clients` (1,024), and the owner's SASL login failed every time with
"Server is full". Now registering connections have `max_unregistered` slots of their
own and a newcomer takes the place of one from the network, then the address, holding
most (see `ircd.unregistered`). The owner logs in with an application password (SASL
PLAIN) from 127.0.0.1; Linux routes all of 127/8 to lo, so each attacker socket is
bound to its own source address.

The rows SECURITY.md quotes are printed as `ircflood: ...`:

    .venv/bin/pytest tests/gateway/test_adversary_ircflood.py -s
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway.auth import credentials
from ircd.protocol import Message, parse_line
from tests.gateway.support import GatewayProcess, enroll, free_port, run_cli
from tests.tlscerts import Certificate, self_signed

Spawn = Callable[[Path], GatewayProcess]

OWNER = "K2ABC"
ADDRESSES = 65
PER_ADDRESS = 16
TRIES = 8
#: Over TLS each login takes seconds under the flood (the handshakes cost CPU).
TLS_TRIES = 4
#: Registering slots in the TLS row: half its flood (520 sockets) gets past the handshake.
TLS_SLOTS = 256
#: Seconds every wait of this module may take (the machine may be busy with the flood).
WAIT = 30.0


def gateway_config(
    tmp_path: Path,
    tls: tuple[Certificate, Certificate] | None = None,
    slots: int = 1024,
    period: int = 60,
) -> tuple[Path, int]:
    """The config and its IRC port (with `tls`, (server, client CA), a TLS listener
    that asks for client certificates). Default IRC limits (1,024 registered, `slots`
    registering (default 1,024), 16 per address, 20 s to register); the throttle is on
    from the start (no start-up grace)."""
    config, port = tmp_path / "gateway.yaml", free_port()
    listener = f"{{host: 127.0.0.1, port: {port}}}"
    if tls is not None:
        server, ca = tls
        files = f"{{cert: {server.cert}, key: {server.key}, client_ca: {ca.cert}}}"
        listener = f"{{host: 127.0.0.1, port: {port}, tls: {files}}}"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nauth: {{failure_pause: 0}}\n"
        f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {free_port()}}}]}}\n"
        "irc:\n"
        f"  listen: [{listener}]\n"
        f"  throttle: {{new_users: 20, period: {period}, known_after: 300, start_delay: 0}}\n"
        f"  limits: {{max_unregistered: {slots}}}\n"
    )
    return config, port


def app_password(config: Path) -> str:
    enroll(config, OWNER)
    done = run_cli(config, "apppass", "add", OWNER, "desktop")
    assert done.returncode == 0, done.stderr
    found = re.search(r"^    (\S+)$", done.stdout, re.MULTILINE)
    assert found is not None and credentials.APP_PASSWORD.fullmatch(found[1]), done.stdout
    return found[1]


class Irc:
    """A line-reading IRC client bound to a source address of 127/8."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int, source: str, tls: ssl.SSLContext | None = None) -> Irc:
        async with asyncio.timeout(WAIT):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(source, 0), ssl=tls
            )
        return cls(reader, writer)

    def send(self, *lines: str) -> None:
        self.writer.write(b"".join(line.encode() + b"\r\n" for line in lines))

    async def until(self, *commands: str) -> Message:
        """The first message with one of `commands` or ERROR (an ERROR also at EOF)."""
        async with asyncio.timeout(WAIT):
            while raw := await self.reader.readline():
                msg = parse_line(raw.rstrip(b"\r\n"))
                if msg.command == "PING":
                    self.send(f"PONG :{msg.params[-1]}")
                if msg.command in commands or msg.command == "ERROR":
                    return msg
        return Message(command="ERROR", params=("closed",))

    def close(self) -> None:
        self.writer.close()


async def sasl_login(
    port: int, source: str, password: str | None, nick: str, tls: ssl.SSLContext | None = None
) -> str:
    """A SASL login (PLAIN with `password`, else EXTERNAL with the certificate of `tls`)
    and registration: "" if welcomed, else the line that ended it."""
    try:
        irc = await Irc.connect(port, source, tls)
    except (OSError, ssl.SSLError) as exc:
        return f"connect: {exc!r}"
    try:
        if password is None:
            mechanism, payload = "EXTERNAL", "+"
        else:
            mechanism = "PLAIN"
            payload = base64.b64encode(f"\0{OWNER}\0{password}".encode()).decode()
        irc.send("CAP REQ :sasl", f"NICK {nick}", "USER own 0 * :Owner")
        steps = (
            ("CAP", f"AUTHENTICATE {mechanism}"),  # ACK
            ("AUTHENTICATE", f"AUTHENTICATE {payload}"),  # +
            ("903", "CAP END"),
            ("001", ""),
        )
        for expected, then in steps:
            got = await irc.until(expected, "904", "NAK")
            if got.command != expected:
                return f"{got.command} {' '.join(got.params)}"
            if then:
                irc.send(then)
        return ""
    finally:
        irc.close()


async def plain_registration(port: int, source: str, nick: str) -> str:
    """Registration without SASL: "" if welcomed, else the line that ended it."""
    irc = await Irc.connect(port, source)
    try:
        irc.send(f"NICK {nick}", f"USER {nick} 0 * :Guest")
        got = await irc.until("001")
        return "" if got.command == "001" else f"{got.command} {' '.join(got.params)}"
    finally:
        irc.close()


@dataclass
class Flood:
    """`per_address` silent sockets from each address, each reconnecting once dropped."""

    port: int
    addresses: list[str]
    per_address: int = PER_ADDRESS
    #: Every other socket completes a TLS handshake with this (the rest stay silent
    #: before it, held by the handshake timeout).
    tls: ssl.SSLContext | None = None
    connects: int = 0
    dropped: int = 0
    timed_out: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def dropped_past(self, count: int) -> None:
        """Until more than `count` of the flood's sockets were dropped."""
        async with asyncio.timeout(WAIT):
            while self.dropped <= count:
                self.changed.clear()
                await self.changed.wait()

    async def socket(self, source: str, stop: asyncio.Event, tls: ssl.SSLContext | None) -> None:
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", self.port, local_addr=(source, 0), ssl=tls
                )
            except (OSError, ssl.SSLError):
                continue  # refused or reset while the backlog was full: try again
            self.connects += 1
            try:
                data = b""
                while chunk := await reader.read(4096):
                    data += chunk
                self.timed_out += b"Registration timed out" in data
            except (OSError, ssl.SSLError):
                pass
            finally:
                self.dropped += 1
                self.changed.set()
                writer.close()

    async def run(self, stop: asyncio.Event) -> None:
        tasks = [
            asyncio.create_task(self.socket(source, stop, self.tls if i % 2 else None))
            for source in self.addresses
            for i in range(self.per_address)
        ]
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


#: (row, addresses, sockets from each, registering slots): the finding's flood against
#: the default slots and against 128; then more /24 networks than slots, one socket
#: each, the flood the rule cannot tell from owners: against 128 slots it keeps the
#: owner out (SECURITY.md states the limit), and the test only asserts that the owner
#: is told why.
ONE_NETWORK = [f"127.0.0.{i}" for i in range(2, 2 + ADDRESSES)]
NETWORKS = [f"127.{n // 250 + 1}.{n % 250}.1" for n in range(1100)]
FLOODS = [
    ("65 addresses x 16 sockets", ONE_NETWORK, 16, 1024),
    ("65 addresses x 16 sockets", ONE_NETWORK, 16, 128),
    ("1,100 /24 networks x 1 socket", NETWORKS, 1, 1024),
    ("1,100 /24 networks x 1 socket", NETWORKS, 1, 128),
]


@pytest.mark.slow
@pytest.mark.parametrize(("row", "addresses", "per_address", "slots"), FLOODS)
async def test_a_socket_flood_keeps_no_owner_out(
    tmp_path: Path,
    spawn_gateway: Spawn,
    row: str,
    addresses: list[str],
    per_address: int,
    slots: int,
) -> None:
    config, port = gateway_config(tmp_path, slots=slots)
    password = app_password(config)
    gw = spawn_gateway(config)
    await gw.start()
    flood = Flood(port, addresses, per_address)
    stop = asyncio.Event()
    flooding = asyncio.create_task(flood.run(stop))
    try:
        # The flood holds every registering slot before the owner starts.
        await gw.wait_log(rf"all {slots} slots of registering connections are full")
        failures: list[str] = []
        churn: list[int] = []
        started = time.monotonic()
        for i in range(TRIES):
            before = flood.dropped
            refused = await sasl_login(port, "127.0.0.1", password, f"{OWNER}_{i}")
            churn.append(flood.dropped - before)
            if refused:
                failures.append(refused)
            # The flood went on while the owner logged in.
            await flood.dropped_past(before)
        seconds = time.monotonic() - started
    finally:
        stop.set()
        await flooding
    logins = TRIES - len(failures)
    print(
        f"ircflood: {row} ({len(addresses) * per_address:,}), reconnecting, {slots} slots: "
        f"owner {logins}/{TRIES} (SASL PLAIN, application password; "
        f"{flood.connects:,} flood connections, {flood.dropped:,} dropped, "
        f"{flood.timed_out} timed out; {sum(churn):,} dropped during the owner's "
        f"{seconds:.1f} s, {sum(churn) / seconds:,.0f} a second)"
    )
    if per_address > 1:
        assert failures == [], failures
    else:  # the limit: the owner may lose a try, and is then told why at once
        assert all("Server busy" in f for f in failures), failures


async def test_registrations_from_many_addresses_throttle_no_login(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    """20 registrations without SASL from 20 addresses spend the throttle's tokens; the
    owner's SASL login from a 21st is welcomed, one more without SASL is throttled."""
    # A token comes back every period / 20: at 60 s, 3 s of a busy machine's Argon2 checks
    # between the 20th registration and the 21st let it in. An hour's period holds.
    config, port = gateway_config(tmp_path, period=3600)
    password = app_password(config)
    gw = spawn_gateway(config)
    await gw.start()
    started = time.monotonic()
    guests = await asyncio.gather(
        *(plain_registration(port, f"127.0.1.{i}", f"guest{i}") for i in range(1, 21))
    )
    seconds = time.monotonic() - started
    assert guests == [""] * 20, guests
    owner = [await sasl_login(port, f"127.0.2.{i}", password, f"{OWNER}_{i}") for i in range(4)]
    late = await plain_registration(port, "127.0.1.21", "guest21")
    print(
        f"ircflood: after 20 registrations from 20 addresses in {seconds:.2f} s: "
        f"owner {owner.count('')}/{len(owner)} (SASL), the next user without SASL: "
        f"{'throttled' if 'Throttled' in late else 'welcomed'}"
    )
    assert owner == [""] * 4, owner
    assert "Throttled" in late, late  # the throttle was on all along


def tls_context(server: Certificate, client: Certificate | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(server.cert))
    context.check_hostname = False
    if client is not None:
        context.load_cert_chain(str(client.cert), str(client.key))
    return context


@pytest.mark.slow
async def test_a_tls_flood_keeps_no_certificate_login_out(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    """The same flood on a TLS listener, half of it silent before the handshake (held
    by the handshake timeout, no slot), half silent after it; the owner logs in with a
    bound certificate (SASL EXTERNAL). 256 registering slots, so that the half past
    the handshake fills them."""
    server, ham = self_signed(tmp_path, "server"), self_signed(tmp_path, "ham")
    config, port = gateway_config(tmp_path, (server, ham), slots=TLS_SLOTS)
    enroll(config, OWNER)
    done = run_cli(config, "certfp", "add", OWNER, "--cert", str(ham.cert), "--label", "rig")
    assert done.returncode == 0, done.stderr
    gw = spawn_gateway(config)
    await gw.start()
    addresses = [f"127.0.0.{i}" for i in range(2, 2 + ADDRESSES)]
    flood = Flood(port, addresses, tls=tls_context(server, None))
    stop = asyncio.Event()
    flooding = asyncio.create_task(flood.run(stop))
    owner = tls_context(server, ham)
    try:
        await gw.wait_log(rf"all {TLS_SLOTS} slots of registering connections are full")
        failures: list[str] = []
        started = time.monotonic()
        for i in range(TLS_TRIES):
            before = flood.dropped
            refused = await sasl_login(port, "127.0.0.1", None, f"{OWNER}_{i}", owner)
            if refused:
                failures.append(refused)
            await flood.dropped_past(before)
        seconds = time.monotonic() - started
    finally:
        stop.set()
        await flooding
    print(
        f"ircflood: TLS, {ADDRESSES} addresses x {PER_ADDRESS} sockets, half silent before "
        f"the handshake, {TLS_SLOTS} slots: owner {TLS_TRIES - len(failures)}/{TLS_TRIES} "
        f"(SASL EXTERNAL, bound certificate; {flood.connects:,} flood connections, "
        f"{flood.dropped:,} dropped, {flood.timed_out} timed out; the owner's {seconds:.1f} s)"
    )
    assert failures == [], failures
