"""Goodput of our AX.25 stack over the real two-Dire-Wolf rig (1200 baud AFSK over UDP audio).

Our station sits on instance A's KISS port; instance B's AGW client is the far end and
calls it on Dire Wolf's defaults (SABME: a v2.2 link, window negotiated by XID, SREJ).
A bulk transfer of BYTES one way (ours -> Dire Wolf: our sender and T1 logic;
Dire Wolf -> ours: our receiver and acknowledgements), PACLEN 256, our window
``--k-extended`` (default: LinkParams'), measured from the first byte handed over until
the last arrives, with and without frame loss (Dire Wolf's -E on both transmitters).
As the baseline, the same transfers between two Dire Wolf instances on their defaults
(v2.2, EMAXFRAME 32, SREJ) in the same run, Dire Wolf on A in our place: "DW(A)->DW"
sends from A as "ours->DW" does, "DW->DW(A)" from B as "DW->ours" does. Dire Wolf's -E
corrupts a fixed sequence of its transmitted frames, so each pair sees the same losses
on the same transmitter, frame for frame, as long as both send the same frames (our
station's ID goes out when the link ends, after the measurement). ``--v20`` adds our station
and Dire Wolf both held to v2.0 with k=4 (Dire Wolf's `V20`, MAXFRAME 4), as issue 4
measured.

    .venv/bin/python bench/ax25_rig_goodput.py [--bytes 8192] [--loss 0 10 20]
        [--k-extended 32] [--cases out dw in dwin] [--v20] [--patterns N] [--clean-runs N]

``--patterns N`` runs each lossy case N times, the Nth after each Dire Wolf has sent
3 (N-1) UI frames of its own: -E draws from one random sequence per instance, so this
gives each case the same N loss patterns, and the table shows the medians (each run and
the mean are printed too). ``--clean-runs N`` repeats the cases without loss N times.

Real time: each run takes about BYTES / 100 seconds.
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
from radio.ax25 import Address, Frame, FrameType, LinkParams
from radio.kiss import data_frame
from radio.kiss import encode as kiss_encode
from radio.port import KissPort, TcpEndpoint
from radio.station import Connection, Station, StationParams

OURS, FAR = "N0GW-10", "K1USR-5"
TIMEOUT = 1800.0


async def ours_station(
    rig: DireWolfRig, link: LinkParams
) -> tuple[Station, asyncio.Task[None], bytearray, asyncio.Event, asyncio.Future[Connection]]:
    """Our station on A: (station, KISS task, bytes received, arrival event, connection)."""
    holder: list[Station] = []
    received = bytearray()
    arrived = asyncio.Event()
    got_conn: asyncio.Future[Connection] = asyncio.get_running_loop().create_future()
    kiss = KissPort(
        TcpEndpoint("127.0.0.1", rig.a.kiss_port), lambda f: holder[0].frame_received(f.payload)
    )

    def on_data(data: bytes) -> None:
        received.extend(data)
        arrived.set()

    def accept(conn: Connection) -> None:
        conn.on_data = on_data
        got_conn.set_result(conn)

    params = StationParams(Address.parse(OURS), link)
    holder.append(Station(params, kiss.send, accept))
    task = asyncio.create_task(kiss.run())
    await asyncio.wait_for(kiss.connected.wait(), 30)
    return holder[0], task, received, arrived, got_conn


async def run_ours(rig: DireWolfRig, payload: bytes, outbound: bool, link: LinkParams) -> float:
    station, task, received, arrived, got_conn = await ours_station(rig, link)
    far = await AgwClient.connect(rig.b.agw_port)
    try:
        await far.register(FAR)
        far.send(AgwFrame("C", FAR, OURS, b""))
        await far.wait_for("C", 60)
        conn = await asyncio.wait_for(got_conn, 60)
        start = time.monotonic()
        if outbound:
            conn.send(payload)
            got = b""
            while len(got) < len(payload):
                got += (await far.wait_for("D", TIMEOUT)).data
            assert got == payload
        else:
            for i in range(0, len(payload), 256):
                far.send(AgwFrame("D", FAR, OURS, payload[i : i + 256]))
            while len(received) < len(payload):
                arrived.clear()
                await asyncio.wait_for(arrived.wait(), TIMEOUT)
            assert bytes(received) == payload
        elapsed = time.monotonic() - start
        far.send(AgwFrame("d", FAR, OURS, b""))
        await far.wait_for("d", 120)
        return len(payload) / elapsed
    finally:
        far.close()
        station.stop()
        task.cancel()


async def run_direwolf_pair(rig: DireWolfRig, payload: bytes, outbound: bool = True) -> float:
    """Dire Wolf on A (our place) and B; ``outbound``: A sends, else B (the caller) does."""
    near = await AgwClient.connect(rig.a.agw_port)
    far = await AgwClient.connect(rig.b.agw_port)
    try:
        await near.register(OURS)
        await far.register(FAR)
        far.send(AgwFrame("C", FAR, OURS, b""))
        await far.wait_for("C", 60)
        await near.wait_for("C", 60)
        sender, receiver = (near, far) if outbound else (far, near)
        calls = (OURS, FAR) if outbound else (FAR, OURS)
        start = time.monotonic()
        for i in range(0, len(payload), 256):
            sender.send(AgwFrame("D", *calls, payload[i : i + 256]))
        got = b""
        while len(got) < len(payload):
            got += (await receiver.wait_for("D", TIMEOUT)).data
        elapsed = time.monotonic() - start
        assert got == payload
        far.send(AgwFrame("d", FAR, OURS, b""))
        await far.wait_for("d", 120)
        return len(payload) / elapsed
    finally:
        near.close()
        far.close()


async def shift_loss_pattern(rig: DireWolfRig, frames: int) -> None:
    """Have each instance send ``frames`` UI frames first, to start the test elsewhere in
    the random sequence its -E draws from (the same shift for every case)."""
    if not frames:
        return
    ui = Frame.build(FrameType.UI, dest=Address("SHIFT"), source=Address("N0DWX"), info=b".")
    for instance in (rig.a, rig.b):
        _, writer = await asyncio.open_connection("127.0.0.1", instance.kiss_port)
        writer.write(kiss_encode(data_frame(ui.encode())) * frames)
        await writer.drain()
        async with asyncio.timeout(60):
            while sum("N0DWX>SHIFT" in line and "[0L]" in line for line in instance.log) < frames:
                await asyncio.sleep(0.2)
        writer.close()
    await asyncio.sleep(3)  # the channel quiet again


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bytes", type=int, default=8192)
    parser.add_argument("--loss", type=int, nargs="+", default=[0, 10, 20])
    parser.add_argument("--k-extended", type=int, default=LinkParams().k_extended)
    parser.add_argument("--v20", action="store_true", help="add the v2.0, k=4 rows")
    parser.add_argument(
        "--cases",
        nargs="+",
        choices=["out", "in", "dw", "dwin"],
        default=["out", "dw", "in", "dwin"],
    )
    parser.add_argument(
        "--patterns", type=int, default=1, help="loss patterns per lossy case (medians shown)"
    )
    parser.add_argument("--clean-runs", type=int, default=1, help="runs per case without loss")
    args = parser.parse_args()
    reason = available()
    if reason:
        sys.exit(reason)
    payload = bytes((i * 7 + i // 251) % 256 for i in range(args.bytes))
    link = LinkParams(k=4, k_extended=args.k_extended, paclen=256)
    cases = args.cases + [f"{c}20" for c in args.cases if args.v20]
    print(f"{args.bytes} bytes one way, PACLEN 256, 1200 baud (Dire Wolf 1.6 rig);")
    print(f"v2.2: our window {args.k_extended}, Dire Wolf's EMAXFRAME 32; v2.0: k=4, MAXFRAME 4")
    heads = {"out": "ours->DW", "in": "DW->ours", "dw": "DW(A)->DW", "dwin": "DW->DW(A)",
             "out20": "v2.0 o->DW", "in20": "v2.0 DW->o", "dw20": "v2.0 A->DW",
             "dwin20": "v2.0 DW->A"}  # fmt: skip
    print(f"{'loss':>5}" + "".join(f"  {heads[c]:>11}" for c in cases) + "   (bytes/s, medians)")
    for loss in args.loss:
        row = []
        for case in cases:
            rates = []
            for shift in range(args.patterns if loss else args.clean_runs):
                with tempfile.TemporaryDirectory() as tmp:
                    # v2.0 rows: Dire Wolf held to what issue 4 measured (V20, MAXFRAME 4).
                    extra = f"MAXFRAME 4\nV20 {OURS}\n" if case.endswith("20") else ""
                    rig = DireWolfRig(Path(tmp), loss_a=loss, loss_b=loss, extra=extra)
                    await rig.start()
                    try:
                        await shift_loss_pattern(rig, 3 * shift if loss else 0)
                        if case.startswith("dw"):
                            outbound = not case.startswith("dwin")
                            rates.append(await run_direwolf_pair(rig, payload, outbound))
                        else:
                            outbound = case.startswith("out")
                            rates.append(await run_ours(rig, payload, outbound, link))
                    finally:
                        await rig.stop()
            if len(rates) > 1:
                each = " ".join(f"{r:.1f}" for r in rates)
                print(f"  {loss}% {heads[case]}: {each} (mean {statistics.mean(rates):.1f})")
            row.append(statistics.median(rates))
        print(f"{loss:>4}%" + "".join(f"  {r:>11.1f}" for r in row), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
