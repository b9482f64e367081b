"""Connect time over the two-Dire-Wolf rig: a Dire Wolf caller on its defaults (v2.2).

Instance B (through AGW) calls, in turn, our station on instance A's KISS port and
Dire Wolf's own link layer on instance A (an AGW client registered there), RUNS times
each, alternating, in one rig session. Timed from the AGW connect request to Dire
Wolf's "CONNECTED" (the UA heard); then a disconnect, and a pause so the channel is
idle again. Also checks that Dire Wolf never fell back to v2.0 for our station (its log
line "doesn't understand AX.25 v2.2").

    .venv/bin/python bench/ax25_rig_connect.py [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.direwolf.agw import AgwClient, AgwFrame
from bench.direwolf.rig import DireWolfRig, available
from radio.ax25 import Address, LinkParams
from radio.port import KissPort, TcpEndpoint
from radio.station import Connection, Station, StationParams

OURS, THEIRS, CALLER = "N0GW-10", "N0DW-10", "K1USR-5"
#: Seconds of quiet between calls: the last DISC/UA and our ID are off the air.
PAUSE = 5.0


async def call(far: AgwClient, to: str) -> float:
    start = time.monotonic()
    far.send(AgwFrame("C", CALLER, to, b""))
    reply = await far.wait_for("C", 60)
    elapsed = time.monotonic() - start
    assert b"CONNECTED" in reply.data, reply.data
    far.send(AgwFrame("d", CALLER, to, b""))
    await far.wait_for("d", 60)
    await asyncio.sleep(PAUSE)
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    reason = available()
    if reason:
        sys.exit(reason)
    with tempfile.TemporaryDirectory() as tmp:
        rig = DireWolfRig(Path(tmp))
        await rig.start()
        holder: list[Station] = []
        kiss = KissPort(
            TcpEndpoint("127.0.0.1", rig.a.kiss_port),
            lambda f: holder[0].frame_received(f.payload),
        )

        def accept(conn: Connection) -> None:
            pass

        params = StationParams(Address.parse(OURS), LinkParams())
        holder.append(Station(params, kiss.send, accept))
        task = asyncio.create_task(kiss.run())
        near = await AgwClient.connect(rig.a.agw_port)
        far = await AgwClient.connect(rig.b.agw_port)
        ours: list[float] = []
        theirs: list[float] = []
        try:
            await asyncio.wait_for(kiss.connected.wait(), 30)
            await near.register(THEIRS)
            await far.register(CALLER)
            for _ in range(args.runs):
                ours.append(await call(far, OURS))
                theirs.append(await call(far, THEIRS))
        finally:
            near.close()
            far.close()
            holder[0].stop()
            task.cancel()
            await rig.stop()
        fallback = sum("doesn't understand AX.25 v2.2" in line for line in rig.b.log)
        v22 = sum(f"Connected to {OURS}.  (v2.2)" in line for line in rig.b.log)
    print(f"{args.runs} calls each, Dire Wolf 1.6 caller on defaults, 1200 baud")
    for name, times in (("ours", ours), ("Dire Wolf", theirs)):
        print(
            f"{name:>10}: median {statistics.median(times):.2f} s"
            f"  (min {min(times):.2f}, max {max(times):.2f})"
        )
    print(f"v2.2 connections to {OURS}: {v22}; v2.0 fallback lines: {fallback}")


if __name__ == "__main__":
    asyncio.run(main())
