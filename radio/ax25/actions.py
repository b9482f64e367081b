"""The vocabulary of the AX.25 link core: states, timers, actions, parameters, errors.

Every `Link` input returns a list of the action objects defined here; the caller (an
asyncio adapter, a test, or the simulator) carries them out in order. Actions are small
frozen dataclasses: don't subclass them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from radio.ax25.frame import Frame

__all__ = [
    "Action",
    "Deliver",
    "ErrorIndication",
    "LinkDown",
    "LinkParams",
    "LinkReset",
    "LinkUp",
    "LocalLinkError",
    "SendFrame",
    "StartTimer",
    "State",
    "StopTimer",
    "Timer",
]

#: Rough per-frame overhead on air: 14 address octets, control, PID, FCS 2, flags.
FRAME_OVERHEAD = 20


class LocalLinkError(Exception):
    """Our own code used the link wrongly (e.g. ``send()`` while disconnected).

    Peer misbehaviour never raises: it becomes actions (a DM, an `ErrorIndication`).
    """


class State(Enum):
    """Data-link states, numbered as in the AX.25 v2.2 SDL."""

    #: No connection; only SABM is accepted, other commands get DM.
    DISCONNECTED = 0
    #: SABM sent (by us, or to reset the link); waiting for UA.
    AWAITING_CONNECTION = 1
    #: DISC sent; waiting for UA or DM.
    AWAITING_RELEASE = 2
    #: Information transfer.
    CONNECTED = 3
    #: Information transfer after T1 expired: the peer has been polled (P=1).
    TIMER_RECOVERY = 4


class Timer(Enum):
    """The timers a link asks its caller to run."""

    #: Acknowledgement timer: outstanding I frame, poll, SABM or DISC.
    T1 = "T1"
    #: Response delay: wait briefly before acknowledging, so one RR covers a burst.
    T2 = "T2"
    #: Idle-link timer: poll the peer when nothing has happened for a while.
    T3 = "T3"


@dataclass(frozen=True, slots=True)
class SendFrame:
    """Transmit ``frame`` (encode it and hand it to the TNC)."""

    frame: Frame


@dataclass(frozen=True, slots=True)
class StartTimer:
    """(Re)start ``timer`` to expire ``seconds`` from now, replacing any running one."""

    timer: Timer
    seconds: float


@dataclass(frozen=True, slots=True)
class StopTimer:
    """Cancel ``timer`` if it is running."""

    timer: Timer


@dataclass(frozen=True, slots=True)
class Deliver:
    """In-sequence data from the peer, for the layer above."""

    data: bytes


@dataclass(frozen=True, slots=True)
class LinkUp:
    """The link is connected; ``incoming`` if the peer called us."""

    incoming: bool


@dataclass(frozen=True, slots=True)
class LinkDown:
    """The link is gone (or never came up); ``reason`` is for the log."""

    reason: str


@dataclass(frozen=True, slots=True)
class LinkReset:
    """The link was re-established under us; data in flight may have been lost."""

    reason: str


@dataclass(frozen=True, slots=True)
class ErrorIndication:
    """A protocol error noticed (the SDL's DL-ERROR indication, letter ``code``)."""

    code: str
    reason: str


#: Anything a `Link` input can return.
Action = (
    SendFrame | StartTimer | StopTimer | Deliver | LinkUp | LinkDown | LinkReset | ErrorIndication
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkParams:
    """Link parameters; defaults follow the reference (Dire Wolf 1.6).

    ``t1`` is the initial FRACK for a direct path; it is scaled by ``2 * hops + 1`` for
    digipeaters and then adapted from measured round trips. ``bit_rate`` and
    ``tx_delay`` let the link estimate when its frames are really on air (a KISS host
    cannot see the transmitter), so T1 is not used up by our own transmission time;
    set ``bit_rate=None`` to disable that estimate.
    """

    #: Window: most unacknowledged I frames outstanding (1-7, modulo 8).
    k: int = 4
    #: Window on a v2.2 link (modulo 128, 1-127); XID may lower it to the peer's.
    k_extended: int = 32
    #: Accept v2.2 (SABME, modulo 128, SREJ); False answers SABME with DM (v2.0 only).
    v22: bool = True
    #: N1 / PACLEN: the longest information field we send; longer data is split.
    paclen: int = 256
    #: N2: retries before giving up.
    n2: int = 10
    #: Initial T1 (FRACK), seconds, for a direct path.
    t1: float = 3.0
    #: T2 acknowledgement delay, seconds; None derives it from ``bit_rate``.
    t2: float | None = None
    #: T3 idle-link poll interval, seconds.
    t3: float = 300.0
    #: Channel bit rate for airtime estimates, or None.
    bit_rate: int | None = 1200
    #: The TNC's keyup delay (KISS TXDELAY), seconds, paid once per transmission.
    tx_delay: float = 0.3

    def __post_init__(self) -> None:
        if not 1 <= self.k <= 7:
            raise ValueError(f"k must be 1-7 for modulo 8 (got {self.k})")
        if not 1 <= self.k_extended <= 127:
            raise ValueError(f"k_extended must be 1-127 (got {self.k_extended})")
        if not 1 <= self.paclen <= 2048:
            raise ValueError(f"paclen must be 1-2048 (got {self.paclen})")
        if not 1 <= self.n2 <= 255:
            raise ValueError(f"n2 must be 1-255 (got {self.n2})")
        if not self.t1 > 0 or not self.t3 > 0:
            raise ValueError("t1 and t3 must be positive")
        if self.t2 is not None and not self.t2 >= 0:
            raise ValueError("t2 must be non-negative")
        if self.bit_rate is not None and self.bit_rate <= 0:
            raise ValueError("bit_rate must be positive")
        if self.tx_delay < 0:
            raise ValueError("tx_delay must be non-negative")

    @property
    def ack_delay(self) -> float:
        """T2: a little longer than one full I frame takes on air.

        I frames of a burst arrive one airtime apart; waiting that long before an RR
        lets one RR acknowledge the whole burst instead of one RR per frame.
        """
        if self.t2 is not None:
            return self.t2
        if self.bit_rate is None:
            return 1.0
        return 1.1 * (self.paclen + FRAME_OVERHEAD) * 8 / self.bit_rate + 0.1
