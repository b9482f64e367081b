"""One login attempt, decided and recorded in a single store transaction.

Runs on the store's thread. The order matters: penalties are checked before any code
is compared; a good code's step is written and committed before the caller is told
"ok"; a replay is refused without counting as a guess; every refusal looks the same
to the user, and only the log (never with the code) says which it was.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from gateway.auth import penalties, totp
from gateway.auth.secretbox import SecretKeyError
from gateway.config import AuthConfig
from gateway.store import Store

log = logging.getLogger("gateway.auth")


class Outcome(enum.Enum):
    OK = "ok"
    WRONG = "wrong code"
    UNKNOWN = "callsign not enrolled"
    MALFORMED = "malformed code"
    REPLAY = "replayed code"
    SOURCE_PENALTY = "source under penalty"
    CALLSIGN_DELAY = "callsign under delay"
    STORE_ERROR = "stored secret unreadable"


@dataclass(frozen=True, slots=True)
class LoginResult:
    outcome: Outcome
    #: Set when failures for the callsign just passed the warning threshold.
    alert: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


class Authenticator:
    """Holds what outlives one attempt: a decoy secret for unknown callsigns."""

    def __init__(self) -> None:
        # Unknown callsigns are checked against a random secret, so that they cost
        # the same work as real ones and fail the same way.
        self._decoy = totp.new_secret()

    def attempt(
        self, store: Store, cfg: AuthConfig, callsign: str, code: str, source: str, now: float
    ) -> LoginResult:
        """Decide one attempt for base `callsign` from `source` at time `now`."""
        with store.transaction():
            result = self._decide(store, cfg, callsign, code, source, now)
        # Logged after the commit: the log line never claims more than the disk holds.
        level = logging.INFO if result.ok else logging.WARNING
        log.log(level, "login %s for %s from %s", result.outcome.value, callsign, source)
        if result.alert:
            log.warning("%s", result.alert)
        return result

    def _decide(
        self, store: Store, cfg: AuthConfig, callsign: str, code: str, source: str, now: float
    ) -> LoginResult:
        if penalties.source_blocked(store.source_until(source), now, cfg.source):
            return LoginResult(Outcome.SOURCE_PENALTY)
        state = penalties.callsign_current(store.callsign_state(callsign), now, cfg.callsign)
        if now < penalties.callsign_next_check(state, cfg.callsign):
            return LoginResult(Outcome.CALLSIGN_DELAY)
        if not totp.is_well_formed(code):
            return LoginResult(Outcome.MALFORMED)
        user = store.get_user(callsign)
        if user is None:
            totp.check_code(self._decoy, code, now, None)
            return self._failure(store, cfg, callsign, source, now, Outcome.UNKNOWN)
        try:
            secret = store.box.open(callsign, user.secret_blob)
        except SecretKeyError as exc:
            log.error("%s", exc)
            return LoginResult(Outcome.STORE_ERROR)
        check = totp.check_code(secret, code, now, user.last_step)
        del secret
        if check.verdict is totp.Verdict.REPLAY:
            return LoginResult(Outcome.REPLAY)
        if check.verdict is not totp.Verdict.OK or check.step is None:
            return self._failure(store, cfg, callsign, source, now, Outcome.WRONG)
        store.record_login(callsign, check.step, now, source)
        store.clear_callsign(callsign)
        return LoginResult(Outcome.OK)

    @staticmethod
    def _failure(
        store: Store, cfg: AuthConfig, callsign: str, source: str, now: float, outcome: Outcome
    ) -> LoginResult:
        until = penalties.source_after_failure(store.source_until(source), now, cfg.source)
        store.set_source_until(source, until, now, cfg.source.max_entries)
        state = penalties.callsign_after_failure(store.callsign_state(callsign), now, cfg.callsign)
        store.set_callsign_state(callsign, state, cfg.callsign.max_entries)
        alert = None
        if penalties.should_warn(state.failures, cfg.callsign):
            delay = penalties.callsign_delay(state.failures, cfg.callsign)
            alert = (
                f"{state.failures} failed logins in a row for {callsign} (latest from {source});"
                f" its codes are now checked at most once every {delay:.0f} s"
            )
        return LoginResult(outcome, alert)
