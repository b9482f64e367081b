"""The TNC set up from the config: KISS parameter commands reach a fake TNC on a socket,
at start and again when the port reconnects; the AX.25 settings reach the link."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.config import load_config
from gateway.links import radio_ports
from radio.kiss import Command, KissDecoder, KissFrame

TIMEOUT = 10


async def read_frames(reader: asyncio.StreamReader, count: int) -> list[KissFrame]:
    decoder, frames = KissDecoder(), []
    while len(frames) < count:
        data = await reader.read(1024)
        assert data, "the gateway closed the TNC connection"
        frames += decoder.feed(data)
    return frames


async def test_kiss_commands_reach_the_tnc_at_start_and_on_reconnect(tmp_path: Path) -> None:
    clients: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def tnc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await clients.put((reader, writer))

    server = await asyncio.start_server(tnc, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    path = tmp_path / "config.yaml"
    path.write_text(
        "callsign: N0GW-10\nradio:\n  ports:\n"
        f"    - {{name: hf, tcp: '127.0.0.1:{port}', tnc_port: 2, tx_delay: 0.45,"
        " persistence: 0.5, slot_time: 0.2, tx_tail: 0.03, full_duplex: true,"
        " t2: 1.5, k_extended: 12, v22: false}\n"
    )
    config = load_config(path)
    (hf,) = config.radio.ports
    link = radio_ports.station_params(config, hf).link
    assert (link.t2, link.k_extended, link.v22) == (1.5, 12, False)

    async def session(stream: object, port: object) -> None:
        raise AssertionError("no session expected")

    ports = radio_ports.RadioPorts(session)
    ports.start(config, True)
    expected = [
        KissFrame(2, Command.TXDELAY, bytes([45])),  # 10 ms units
        KissFrame(2, Command.PERSISTENCE, bytes([127])),  # p * 256 - 1
        KissFrame(2, Command.SLOT_TIME, bytes([20])),
        KissFrame(2, Command.TX_TAIL, bytes([3])),
        KissFrame(2, Command.FULL_DUPLEX, bytes([1])),
    ]
    try:
        async with asyncio.timeout(TIMEOUT):
            reader, writer = await clients.get()
            assert await read_frames(reader, 5) == expected
            writer.close()  # the TNC restarts: it has forgotten its settings
            reader, writer = await clients.get()
            assert await read_frames(reader, 5) == expected
            writer.close()
    finally:
        await ports.stop("bye")
        server.close()


def test_tnc_setup_false_sends_nothing_and_defaults_match_dire_wolfs(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "callsign: N0GW-10\nradio:\n  ports:\n"
        "    - {name: a, tcp: '127.0.0.1:8001'}\n"
        "    - {name: b, tcp: '127.0.0.1:8002', tnc_setup: false}\n"
    )
    a, b = load_config(path).radio.ports
    # Dire Wolf's own defaults: TXDELAY 30, PERSIST 63, SLOTTIME 10, TXTAIL 10.
    assert [f.payload[0] for f in radio_ports.tnc_frames(a)] == [30, 63, 10, 10, 0]
    assert radio_ports.tnc_frames(b) == []
