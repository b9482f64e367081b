"""Penalty arithmetic for failed logins: pure functions of state, config and time.

Three brakes, none of which is ever a permanent lock:

* per source (the client IP, or listener + callsign behind a BPQ node, or the radio
  port + digipeater path): OpenSSH-style, every failure adds `per_failure` seconds to a
  penalty that runs down in real time; the source is refused while more than `grace`
  seconds remain; the penalty never exceeds `max`. This one only slows a single source.
* per callsign (whoever claims it) and per node (across callsigns): a leaky bucket
  of *checked* failures. A code is compared only while the bucket has room
  for one more failure; each wrong code adds one; the bucket leaks one failure every
  `leak_every` seconds. Nothing an attacker can do empties it (a good login, a pause, a
  new source do not), so in any T seconds at most `burst + T / leak_every` wrong codes
  are checked, whatever the strategy. That is the bound SECURITY.md states.

  A callsign has two such buckets with the same parameters (the bound is twice the
  above): one for the sources it has had a good login from (`FAMILIAR`, Azure AD's
  "smart lockout" idea) and one for every other source. An attacker who cannot send
  from the owner's own node or path spends only the second, so cannot keep the owner
  out; one who can (in radio range of the same node, claiming the callsign) spends both.
  A source is familiar only once earned: good logins from it on `FAMILIAR_DAYS`
  distinct days (or the sysop's word), so one stolen login does not make a thief's
  address the owner's.
* per node (across callsigns), for the other sources only: the same bucket, so one node
  cannot spray many callsigns; a familiar source neither spends nor waits on it, so
  wrong codes for other callsigns through the owner's node never slow the owner.
* per gateway: one bucket across every callsign and source that is not familiar
  (`GATEWAY_OTHERS`), one per radio node for the familiar sources there
  (`GATEWAY_FAMILIAR:node`): what bounds a spray from any number of addresses.

A second, slower counter in the same state drives the sysop's warnings: it leaks
`warn_after` failures per `warn_window`, so a burst of `warn_after` failures raises a
warning at once, and so does a trickle faster than that rate, sooner or later; an
attacker who never raises one gets at most `unwarned_bound` checks. One
warning per burst (a burst ends when both counters are empty), repeated once a day
while it lasts.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, replace
from typing import Protocol

from gateway.config import SourcePenaltyConfig

YEAR = 365.25 * 86400.0
#: While a burst goes on, the warning is repeated at most this often.
REMIND_EVERY = 86400.0
# Float leaks never hit zero exactly; below this a counter is empty.
_EPS = 1e-9

#: The lane of a callsign's budget kept for the sources it has logged in from.
FAMILIAR = "familiar"
#: A source stays familiar this long after a good login from it; at most this many.
FAMILIAR_FOR = 180 * 86400.0
FAMILIAR_KEEP = 4
#: Good logins on this many days make a source familiar; a login counts another day
#: only this long after the one that counted the last.
FAMILIAR_DAYS = 2
DAY_APART = 20 * 3600.0
#: A familiar source used this recently is never pushed out by a newly earned one.
FAMILIAR_RECENT = 30 * 86400.0
#: Sources with a good login remembered per callsign (familiar or on their way).
KNOWN_KEEP = 16
#: The gateway-wide buckets, kept among the node budgets under names no source has.
GATEWAY_OTHERS = "*gateway"
#: Strangers on the air (BPQ listeners, AX.25 ports) have a bucket apart from the
#: Internet's (direct listeners, SASL): a spray from any number of Internet addresses
#: then never slows an owner on the air (the radio-side review's finding 1).
GATEWAY_RADIO = "*gateway:radio"
GATEWAY_FAMILIAR = "*gateway:familiar"


def source_blocked(until: float, now: float, cfg: SourcePenaltyConfig) -> bool:
    """True while the source's remaining penalty exceeds the grace."""
    return until - now > cfg.grace


def source_retry_at(until: float, cfg: SourcePenaltyConfig) -> float:
    """When a refused source may try again: its penalty has then run down to the grace."""
    return until - cfg.grace


def source_after_failure(until: float, now: float, cfg: SourcePenaltyConfig) -> float:
    """The penalty deadline after one more failure."""
    return min(max(until, now) + cfg.per_failure, now + cfg.max)


class BudgetConfig(Protocol):
    """What a bucket needs: `CallsignDelayConfig` and `NodeBudgetConfig` both fit."""

    @property
    def burst(self) -> int: ...
    @property
    def leak_every(self) -> float: ...
    @property
    def warn_after(self) -> int: ...
    @property
    def warn_window(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Budget:
    """One bucket's state as stored; `at()` brings it up to a given time."""

    #: Checked failures not yet leaked away; a code is checked only while <= burst - 1.
    level: float = 0.0
    #: The slower counter behind warnings.
    recent: float = 0.0
    #: When `level` and `recent` were last brought up to date.
    updated: float = 0.0
    #: Checked failures in this burst, and when it began.
    failures: int = 0
    since: float = 0.0
    #: The last warning in this burst.
    alerted_at: float | None = None
    last_failure: float = 0.0


#: Kept under their old names for callers of the T x A delays.
CallsignState = Budget


def budget_at(b: Budget, now: float, cfg: BudgetConfig) -> Budget:
    """The bucket as it stands at `now` (a clock that steps back leaks nothing)."""
    elapsed = max(0.0, now - b.updated)
    level = b.level - elapsed / cfg.leak_every
    recent = b.recent - elapsed * cfg.warn_after / cfg.warn_window
    level = level if level > _EPS else 0.0
    recent = recent if recent > _EPS else 0.0
    if level == 0.0 and recent == 0.0:
        # Both counters ran down: the burst is over, the next one is news again.
        return Budget(updated=max(now, b.updated), last_failure=b.last_failure)
    return replace(b, level=level, recent=recent, updated=max(now, b.updated))


def budget_allows(b: Budget, cfg: BudgetConfig) -> bool:
    """True if the bucket (brought up to date) has room for one more checked failure."""
    return b.level <= cfg.burst - 1 + _EPS


def budget_next_check(b: Budget, cfg: BudgetConfig) -> float:
    """The earliest time a code will be checked (b brought up to date)."""
    over = b.level - (cfg.burst - 1)
    return b.updated + over * cfg.leak_every if over > _EPS else b.updated


def budget_after_failure(b: Budget, now: float, cfg: BudgetConfig) -> tuple[Budget, bool]:
    """Add one checked failure; True if the sysop should be warned now."""
    cur = budget_at(b, now, cfg)
    recent = cur.recent + 1.0
    # More than warn_after - 1 after this failure: a quick burst of warn_after warns
    # even though the counter has leaked a little between them.
    warn = recent > cfg.warn_after - 1 + _EPS and (
        cur.alerted_at is None or now - cur.alerted_at >= REMIND_EVERY
    )
    new = Budget(
        level=cur.level + 1.0,
        recent=recent,
        updated=cur.updated,
        failures=cur.failures + 1,
        since=cur.since if cur.failures else now,
        alerted_at=now if warn else cur.alerted_at,
        last_failure=now,
    )
    return new, warn


def budget_quiet_at(b: Budget, cfg: BudgetConfig) -> float:
    """When both counters will have run down (the row can then be forgotten)."""
    return b.updated + max(b.level * cfg.leak_every, b.recent * cfg.warn_window / cfg.warn_after)


def node_of(source: str) -> str:
    """The node a source belongs to: what the attacker can least multiply.

    Behind a BPQ node (`telnet:LABEL:call:CALL`) the source names the claimed callsign,
    which anyone can vary: the node is the listener. On AX.25 (`ax25:PORT:PATH:call:CALL`)
    the path and the callsign can be forged: the node is the port. On a direct listener
    (`telnet:LABEL:ip:ADDR`) it is the address, widened to its /64 for IPv6 (one
    subscriber's block), and so it is for SASL (`irc:sasl:ip:ADDR`). Anything else is
    its own node.
    """
    if source.startswith(("telnet:", "irc:")):
        head, sep, _ = source.rpartition(":call:")
        if sep:
            return head
        head, sep, addr = source.rpartition(":ip:")
        if sep:
            try:
                ip = ipaddress.ip_address(addr.split("%", 1)[0])
            except ValueError:
                return source
            if ip.version == 6 and ip.ipv4_mapped is None:
                return f"{head}:net:{ipaddress.ip_network((ip, 64), strict=False)}"
        return source
    if source.startswith("ax25:"):
        return ":".join(source.split(":", 2)[:2])
    return source


def on_air(source: str) -> bool:
    """Sources whose codes went over the air: AX.25, and callsigns behind a BPQ node."""
    return source.startswith("ax25:") or (source.startswith("telnet:") and ":call:" in source)


def can_be_familiar(source: str) -> bool:
    """Sources that name one station's way in (not one shared by everyone)."""
    return source.startswith(("telnet:", "ax25:", "irc:sasl:ip:"))


# -- the figures SECURITY.md states ---------------------------------------------------


def checks_bound(cfg: BudgetConfig, seconds: float) -> float:
    """Most wrong codes that can be checked in `seconds`, whatever the strategy."""
    return cfg.burst + seconds / cfg.leak_every


def unwarned_bound(cfg: BudgetConfig, seconds: float) -> float:
    """Most wrong codes an attacker can have checked without ever raising a warning."""
    quiet = (cfg.warn_after - 1) + seconds * cfg.warn_after / cfg.warn_window
    return min(math.floor(quiet), checks_bound(cfg, seconds))


def success_chance(checks: float, digits: int = 6, window: int = 3) -> float:
    """Chance that `checks` random guesses find one of `window` valid codes."""
    p = window / 10**digits
    return -math.expm1(checks * math.log1p(-p))


def any_account_chance_per_year(cfg: BudgetConfig, digits: int = 6) -> float:
    """Chance that a year of spraying every callsign finds some account's code, bounded
    by the gateway-wide buckets (both lanes) whatever the number of callsigns."""
    return success_chance(guesses_per_year(cfg), digits)


def guesses_per_year(cfg: BudgetConfig, lanes: int = 2) -> float:
    """Most codes an attacker can have checked for one callsign in a year of trying
    (both lanes: from the owner's familiar sources and from anywhere else)."""
    return lanes * checks_bound(cfg, YEAR)


def success_chance_per_year(cfg: BudgetConfig, codes_per_guess: int = 3, digits: int = 6) -> float:
    """Chance that a year of guessing at the allowed rate finds a valid code."""
    return success_chance(guesses_per_year(cfg), digits, codes_per_guess)
