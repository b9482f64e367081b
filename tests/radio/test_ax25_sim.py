"""Two links over the simulated half-duplex 1200 bit/s channel, in virtual time."""

from __future__ import annotations

import pytest

from radio.ax25.actions import LinkDown, LinkParams, LinkUp
from radio.ax25.sim import ChannelParams, Simulator, Station

HOUR = 3600.0


def pattern(n: int, salt: int) -> bytes:
    return bytes((i * 7 + salt) % 251 for i in range(n))


def connected_pair(
    loss: float, seed: int, params: LinkParams | None = None
) -> tuple[Simulator, Station, Station]:
    sim = Simulator(ChannelParams(loss=loss, seed=seed))
    a = sim.add_station("N0AAA", params)
    b = sim.add_station("N0BBB-1", params)
    a.connect("N0BBB-1")
    assert sim.run_until(lambda: a.connected and b.connected, timeout=HOUR)
    assert a.events == [LinkUp(incoming=False)]
    assert b.events[0] == LinkUp(incoming=True)  # then maybe a reset if UA was lost
    return sim, a, b


@pytest.mark.parametrize(("loss", "seed"), [(0.0, 1), (0.1, 1), (0.1, 2), (0.1, 3), (0.2, 4)])
def test_kilobytes_both_ways_arrive_intact(loss: float, seed: int) -> None:
    sim, a, b = connected_pair(loss, seed)
    to_b, to_a = pattern(6000, 1), pattern(5000, 2)
    a.send(to_b)
    b.send(to_a)
    assert sim.run_until(
        lambda: len(b.received) >= len(to_b) and len(a.received) >= len(to_a), timeout=HOUR
    )
    assert bytes(b.received) == to_b
    assert bytes(a.received) == to_a
    if loss:
        assert sim.stats.frames_lost > 0
    # Both ends hang up cleanly.
    a.disconnect()
    assert sim.run_until(
        lambda: isinstance(a.events[-1], LinkDown) and isinstance(b.events[-1], LinkDown),
        timeout=HOUR,
    )
    assert a.events[-1] == LinkDown("disconnected")
    # If our DISC is lost and the peer polls meanwhile, the SDL answers its poll with
    # DM (awaiting release), which also ends the peer's side.
    assert b.events[-1] in (
        LinkDown("disconnected by peer"),
        LinkDown("peer is not connected (DM)"),
    )


def test_goodput_without_loss_is_near_the_channel_ceiling() -> None:
    sim, a, b = connected_pair(0.0, 7)
    data = pattern(8192, 3)
    start = sim.now
    a.send(data)
    assert sim.run_until(lambda: len(b.received) >= len(data), timeout=HOUR)
    goodput = len(data) / (sim.now - start)
    # The reference's simple model gives ~116 B/s for k=4, PACLEN 256 at 1200 bit/s;
    # the channel itself carries at most 150 B/s.
    assert 95 < goodput < 150
    # No frame was sent twice and nobody had to poll.
    assert sim.stats.by_kind.get("REJ", 0) == 0
    assert sim.stats.by_kind["I"] == len(range(0, len(data), 256))


def test_same_seed_same_run() -> None:
    def run() -> tuple[float, int]:
        sim, a, b = connected_pair(0.15, 11)
        a.send(pattern(3000, 0))
        sim.run_until(lambda: len(b.received) >= 3000, timeout=HOUR)
        return sim.now, sim.stats.frames_sent

    assert run() == run()


def test_lost_connection_is_detected() -> None:
    sim, a, b = connected_pair(0.0, 5, LinkParams(n2=4))
    sim.stations.remove(b)  # b goes off the air
    a.send(b"anyone there?")
    assert sim.run_until(lambda: not a.connected, timeout=HOUR)
    assert a.events[-1] == LinkDown("retry limit reached")


def test_calling_a_station_that_refuses() -> None:
    sim = Simulator()
    a = sim.add_station("N0AAA")
    sim.add_station("N0BBB", accept=False)
    a.connect("N0BBB")
    assert sim.run_until(lambda: bool(a.events), timeout=HOUR)
    assert a.events == [LinkDown("connection refused")]
