"""Penalty arithmetic for failed logins: pure functions of state, config and time.

Two independent brakes, neither of which is ever a permanent lock:

* per source (the client IP, or listener + callsign behind a BPQ node, or the radio
  port + digipeater path): OpenSSH-style, every failure adds `per_failure` seconds to a
  penalty that runs down in real time; the source is refused while more than `grace`
  seconds remain; the penalty never exceeds `max`.
* per callsign (whoever claims it, from anywhere): after `free_failures`, each further
  failure makes the next check wait step x A seconds (RFC 4226 section 7.3), capped at
  `max`; the count is forgotten after `forget_after` seconds without a failure.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config import CallsignDelayConfig, SourcePenaltyConfig


def source_blocked(until: float, now: float, cfg: SourcePenaltyConfig) -> bool:
    """True while the source's remaining penalty exceeds the grace."""
    return until - now > cfg.grace


def source_after_failure(until: float, now: float, cfg: SourcePenaltyConfig) -> float:
    """The penalty deadline after one more failure."""
    return min(max(until, now) + cfg.per_failure, now + cfg.max)


@dataclass(frozen=True, slots=True)
class CallsignState:
    failures: int = 0
    last_failure: float = 0.0


def callsign_current(state: CallsignState, now: float, cfg: CallsignDelayConfig) -> CallsignState:
    """The state as it stands at `now`: a quiet callsign's count has expired."""
    if state.failures and now - state.last_failure >= cfg.forget_after:
        return CallsignState()
    return state


def callsign_delay(failures: int, cfg: CallsignDelayConfig) -> float:
    """Seconds to wait after the last failure before the next check (T x A, capped)."""
    over = failures - cfg.free_failures + 1
    if over <= 0:
        return 0.0
    return min(cfg.step * over, cfg.max)


def callsign_next_check(state: CallsignState, cfg: CallsignDelayConfig) -> float:
    """The earliest time a code for this callsign will be checked again."""
    delay = callsign_delay(state.failures, cfg)
    return state.last_failure + delay if delay else 0.0


def callsign_after_failure(
    state: CallsignState, now: float, cfg: CallsignDelayConfig
) -> CallsignState:
    return CallsignState(callsign_current(state, now, cfg).failures + 1, now)


def should_warn(failures: int, cfg: CallsignDelayConfig) -> bool:
    """Warn the sysop when the count reaches the threshold, then at each multiple of it."""
    return failures >= cfg.warn_after and failures % cfg.warn_after == 0


def guesses_per_year(cfg: CallsignDelayConfig) -> float:
    """Most codes an attacker can have checked for one callsign in a year of trying."""
    year = 365.25 * 86400.0
    guesses, elapsed, failures = 0, 0.0, 0
    while elapsed < year:
        guesses += 1
        failures += 1
        delay = callsign_delay(failures, cfg)
        if delay >= cfg.max:
            return guesses + (year - elapsed) / cfg.max
        elapsed += delay
    return float(guesses)


def success_chance_per_year(cfg: CallsignDelayConfig, codes_per_guess: int = 3) -> float:
    """Chance that a year of guessing at the allowed rate finds a valid code."""
    p = codes_per_guess / 1_000_000
    return 1.0 - (1.0 - p) ** guesses_per_year(cfg)
