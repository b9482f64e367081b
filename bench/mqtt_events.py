"""What keeping MQTT events in the store costs: events per second from `Events.emit` to
a subscriber of a real Mosquitto, and the delay of one event alone, with the store's
outbox (each event written, synchronous=FULL, before it is published) and without it.

    python -m bench.mqtt_events [--events 2000] [--runs 3]

Each run starts its own Mosquitto on a free loopback port and its own store in a
temporary folder; the events are emitted in bursts of 50 (as a busy gateway's would
come), at QoS 1, then 50 events one at a time, each awaited by the subscriber. Prints
one line per mode: the medians and the ranges of the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import aiomqtt

from bench.gateway_process import free_port
from gateway.config import Config, MqttConfig
from gateway.events.bus import Events
from gateway.events.mqtt import MqttLink
from gateway.store import AsyncStore

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
BURST = 50


async def one_run(events: int, kept: bool) -> tuple[float, float]:
    """Events per second in bursts, and the median delay (ms) of one event alone."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
        broker = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.DEVNULL)
        store = await AsyncStore.open(Config(data_dir=Path(tmp) / "data")) if kept else None
        try:
            async with asyncio.timeout(60):
                while True:  # the broker starting
                    try:
                        sub = aiomqtt.Client("127.0.0.1", port)
                        await sub.__aenter__()
                        break
                    except aiomqtt.MqttError:
                        await asyncio.sleep(0.05)
            await sub.subscribe("bench/gw/login", qos=1)
            bus = Events(time.time)
            cfg = MqttConfig(port=port, prefix="bench", queue=events + 10)
            link = MqttLink(cfg, "gw", bus, None, time.time, store=store)  # type: ignore[arg-type]
            await link.start()
            await link.connected.wait()
            began = time.perf_counter()
            for i in range(events):
                bus.emit("login", callsign="N0TEST", transport="telnet", source=f"s{i}")
                if i % BURST == BURST - 1:
                    await asyncio.sleep(0)
            got = 0
            async with asyncio.timeout(120):
                async for _ in sub.messages:
                    got += 1
                    if got == events:
                        break
            elapsed = time.perf_counter() - began
            delays = []
            for i in range(BURST):
                sent = time.perf_counter()
                bus.emit("login", callsign="N0TEST", transport="telnet", source=f"alone{i}")
                async for _ in sub.messages:
                    break
                delays.append((time.perf_counter() - sent) * 1000)
            await link.stop()
            await sub.__aexit__(None, None, None)
            return events / elapsed, statistics.median(delays)
        finally:
            if store is not None:
                await store.close()
            broker.kill()
            broker.wait()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for kept in (False, True):
        runs = [await one_run(args.events, kept) for _ in range(args.runs)]
        rates, delays = [r for r, _ in runs], [d for _, d in runs]
        mode = "store outbox" if kept else "memory only "
        print(f"{mode}: {statistics.median(rates):5.0f} events/s in bursts"
              f" (min {min(rates):.0f}, max {max(rates):.0f}), one alone"
              f" {statistics.median(delays):.1f} ms (min {min(delays):.1f}, max"
              f" {max(delays):.1f}); {args.events} events, {args.runs} runs")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
