"""Station identification, sans-IO: when the ID frame goes out.

The rule followed is US 47 CFR 97.119(a): a station transmits its call sign at the end
of each communication and at least every 10 minutes during one; none is needed at the
start. (The UK licence since 2015 asks a station to be identifiable at all times and to
identify as often as practicable; every AX.25 frame carries our call as its source, and
this ID adds the plain-text one.) So the ID goes out:

- at the latest `interval` after the first transmission not yet identified; from a tenth
  of the interval before that, right after any batch of frames we send, so it rides on a
  transmission we make anyway;
- when a link ends, right after its last frames (the end of that communication), but
  not within `END_GAP` of the last ID: then at `END_GAP` after it, one ID for every link
  that ended meanwhile. A flood of forged SABMs ends a link per frame, and an ID after
  each was a third frame sent per forged one. When the station stops or its transmitter
  goes off, the ID goes out at once (there is no later);
- when no link is up and we have been quiet for `quiet` seconds (the end of exchanges
  that were no link: refusals, TEST and XID answers);
- never at the start: not after the UA that opens a link, where the caller would wait for
  it before its first frames; never between the frames of one batch (the caller polls
  once a batch is out).

Our own ID frames are not transmissions that need identifying: silent, we never identify.
"""

from __future__ import annotations

DEFAULT_INTERVAL = 600.0
#: Quiet seconds, with no link up, that end a communication.
QUIET = 10.0
#: Least seconds from one ID to the next that a link's end calls for.
END_GAP = 30.0


class IdBeacon:
    """Decides when to send an ID; the caller reports transmissions and link ends, and
    asks `poll` after each batch it sends and when the returned wake-up time comes."""

    def __init__(
        self, interval: float = DEFAULT_INTERVAL, *, quiet: float = QUIET, end_gap: float = END_GAP
    ) -> None:
        if not 0 < interval <= DEFAULT_INTERVAL:
            raise ValueError("the ID interval must be positive and at most 600 s")
        self.interval = interval
        self.quiet = quiet
        self.end_gap = end_gap
        self._last_id = -end_gap  # when the latest ID went out (none yet: long ago)
        self._first: float | None = None  # the first transmission since the last ID
        self._last = 0.0  # the latest transmission
        self._ended = False  # a communication ended since the last ID
        self._final = False  # ... and there is no later: identify now

    @property
    def pending(self) -> bool:
        """Something went out that no ID has covered yet."""
        return self._first is not None

    def transmitted(self, now: float) -> None:
        """Record that a (non-ID) frame went out."""
        if self._first is None:
            self._first = now
        self._last = now

    def ended(self, *, final: bool = False) -> None:
        """A communication (a link) ended: identify at the next poll, if anything went out
        (or within `end_gap` of the last ID); `final`: the station stops or goes silent."""
        self._ended = self._first is not None
        self._final = self._final or (final and self._ended)

    def poll(
        self, now: float, *, linked: bool, after_sending: bool = False
    ) -> tuple[bool, float | None]:
        """Return (send an ID now, when to poll again or None if nothing is pending).

        `linked`: a link is up (its end will be reported); `after_sending`: the caller
        has just handed a batch of frames over, so an ID now joins that transmission.
        """
        if self._first is None:
            return False, None
        deadline = self._first + self.interval
        early = after_sending and now >= deadline - self.interval / 10
        quiet_end = self._last + self.quiet
        end_due = self._last_id + self.end_gap
        ended = self._ended and (self._final or now >= end_due)
        if ended or now >= deadline or early or (not linked and now >= quiet_end):
            self._first = None
            self._ended = self._final = False
            self._last_id = now
            return True, None
        wake = deadline if linked else min(deadline, quiet_end)
        return False, min(wake, end_due) if self._ended else wake
