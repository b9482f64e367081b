"""Timing helpers for the AX.25 link: adaptive T1 (SRT) and an on-air clock estimate.

Pure arithmetic on times the caller passes in; nothing here reads a clock.
"""

from __future__ import annotations

__all__ = ["HDLC_OVERHEAD", "T1Estimator", "TxClock", "airtime", "stuffed_bits"]

#: Octets the TNC adds to each frame on air: FCS (2) and the flags around it.
HDLC_OVERHEAD = 4
#: Lowest smoothed round trip for a direct path, seconds (Dire Wolf: 1 s, +2 s per hop).
SRT_FLOOR = 1.0
SRT_FLOOR_PER_HOP = 2.0
#: T1 grows by this much per retry (linear, as Dire Wolf does: the spec's doubling
#: would take an hour to give up on an absent station).
BACKOFF_STEP = 0.25


# Each octet's bits in the order HDLC sends them (least significant first).
_BITS_ON_AIR = tuple(format(octet, "08b")[::-1] for octet in range(256))


def stuffed_bits(data: bytes) -> int:
    """Zero bits HDLC inserts into ``data``: one after every run of five ones.

    About 1.6 % more bits for binary data: a second over a 32-frame burst at 1200
    bit/s, enough for T1 to fire just as the burst ends if left out. The count
    restarts after each inserted zero, which is what non-overlapping matches do.
    """
    return "".join(map(_BITS_ON_AIR.__getitem__, data)).count("11111")


def airtime(octets: int, bit_rate: int, stuffed: int = 0) -> float:
    """Seconds one frame of ``octets`` (before FCS and flags) occupies the channel,
    with ``stuffed`` bits added by HDLC (see `stuffed_bits`)."""
    return ((octets + HDLC_OVERHEAD) * 8 + stuffed) / bit_rate


class T1Estimator:
    """Chooses T1 (the SDL's T1V) from a smoothed round-trip time (SRT).

    Starts at ``t1 * (2 * hops + 1)``, as Dire Wolf does with FRACK, then follows
    ``SRT = 7/8 SRT + 1/8 sample`` and ``T1V = 2 SRT``, clamped so one odd sample
    cannot make T1 tiny or huge.
    """

    __slots__ = ("ceiling", "floor", "initial", "srt", "t1v")

    def __init__(self, t1: float, hops: int) -> None:
        self.initial = t1 * (2 * hops + 1)
        self.floor = SRT_FLOOR + SRT_FLOOR_PER_HOP * hops
        # Dire Wolf falls back to the initial value past twice it; we clamp instead.
        self.ceiling = 2 * self.initial
        self.srt = self.initial / 2
        self.t1v = self.initial

    def reset(self) -> None:
        """Forget measurements (new connection)."""
        self.srt = self.initial / 2
        self.t1v = self.initial

    def measured(self, round_trip: float) -> None:
        """Fold in one round trip measured without retries (Karn's rule)."""
        srt = 7 / 8 * self.srt + 1 / 8 * max(0.0, round_trip)
        self.srt = min(max(srt, self.floor), self.ceiling / 2)
        self.t1v = 2 * self.srt

    def backoff(self, retries: int) -> None:
        """Lengthen T1 after ``retries`` expiries."""
        self.t1v = 2 * self.srt + BACKOFF_STEP * retries


class TxClock:
    """Estimates when our queued frames will have left the transmitter.

    A KISS host hands frames to the TNC at once, but at 1200 bit/s a burst of four
    256-octet frames takes seven seconds to send. T1 started at hand-over would expire
    before the peer even heard the last frame, so the link starts T1 from this estimate
    instead. Frames handed over while the estimate is still in the future join the
    same transmission; otherwise a new transmission pays ``tx_delay`` first.
    """

    __slots__ = ("bit_rate", "busy_until", "tx_delay")

    def __init__(self, bit_rate: int | None, tx_delay: float) -> None:
        self.bit_rate = bit_rate
        self.tx_delay = tx_delay
        self.busy_until = float("-inf")

    def sent(self, octets: int, now: float, stuffed: int = 0) -> None:
        """Account for one frame of ``octets`` (``stuffed`` bits added on air) handed to
        the TNC at ``now``."""
        if self.bit_rate is None:
            return
        start = self.busy_until if self.busy_until > now else now + self.tx_delay
        self.busy_until = start + airtime(octets, self.bit_rate, stuffed)

    def delay(self, seconds: float, now: float) -> None:
        """The channel was taken by someone else for ``seconds`` ending at ``now``.

        Anything of ours still waiting then could not go out meanwhile.
        """
        if self.bit_rate is not None and self.busy_until > now - seconds:
            self.busy_until += seconds

    def done_at(self, now: float) -> float:
        """When our last frame is expected to be off the air (``now`` if already)."""
        return max(now, self.busy_until)
