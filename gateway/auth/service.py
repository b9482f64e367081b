"""One login attempt, decided and recorded in a single store transaction.

Runs on the store's thread. The order matters: penalties are checked before any code
is compared; a good code's step is written and committed before the caller is told
"ok"; a replay is refused without counting as a guess; every refusal looks the same
to the user, and only the log (never with the code) says which it was.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from dataclasses import dataclass

from gateway.auth import admin, penalties, totp
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
    LOCKED = "callsign locked by an operator"
    NODE_BUDGET = "node budget spent"
    CALLSIGN_DELAY = "callsign budget spent"
    STORE_ERROR = "stored secret unreadable"


@dataclass(frozen=True, slots=True)
class LoginResult:
    outcome: Outcome
    #: Set when this attempt starts (or, once a day, continues) a burst of failures
    #: for the callsign or its node: the text for the log and the IRC operators.
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
        self,
        store: Store,
        cfg: AuthConfig,
        callsign: str,
        code: str,
        source: str,
        now: float,
        node: str | None = None,
        familiar: bool = True,
    ) -> LoginResult:
        """Decide one attempt for base `callsign` from `source` at time `now`.

        `node` is what the source's budget across callsigns is kept for; by default it
        is derived from `source` (`penalties.node_of`). `familiar=False` keeps the
        attempt off the budget kept for the sources the owner logged in from, whatever
        its source (a browser page: another site's script shares the owner's address).
        """
        node = node if node is not None else penalties.node_of(source)
        with store.transaction():
            result = self._decide(store, cfg, callsign, code, source, node, now, familiar)
        # Logged after the commit: the log line never claims more than the disk holds.
        level = logging.INFO if result.ok else logging.WARNING
        log.log(level, "login %s for %s from %s", result.outcome.value, callsign, source)
        if result.alert:
            log.warning("%s", result.alert)
        return result

    def _decide(
        self,
        store: Store,
        cfg: AuthConfig,
        callsign: str,
        code: str,
        source: str,
        node: str,
        now: float,
        familiar: bool,
    ) -> LoginResult:
        # Every brake is looked at before any code is compared: a refused attempt costs
        # no guess, and it is answered exactly like a wrong code.
        if penalties.source_blocked(store.source_until(source), now, cfg.source):
            return LoginResult(Outcome.SOURCE_PENALTY)
        if admin.locked_until(store, callsign) > now:
            # Unchecked, but the source pays as for a wrong code: the attempt then writes
            # as a failure does, so its time does not tell a locked (so enrolled) callsign.
            until = penalties.source_after_failure(store.source_until(source), now, cfg.source)
            store.set_source_until(source, until, now, cfg.source.max_entries)
            return LoginResult(Outcome.LOCKED)
        node_budget = penalties.budget_at(store.node_state(node), now, cfg.node)
        if not penalties.budget_allows(node_budget, cfg.node):
            return LoginResult(Outcome.NODE_BUDGET)
        lane = _lane(store, callsign, source, now) if familiar else ""
        budget = penalties.budget_at(store.callsign_state(callsign, lane), now, cfg.callsign)
        if not penalties.budget_allows(budget, cfg.callsign):
            return LoginResult(Outcome.CALLSIGN_DELAY)
        if not totp.is_well_formed(code):
            return LoginResult(Outcome.MALFORMED)
        user = store.get_user(callsign)
        if user is None:
            totp.check_code(self._decoy, code, now, None, len(code))
            return self._failure(store, cfg, callsign, source, node, lane, now, Outcome.UNKNOWN)
        try:
            secret = store.box.open(callsign, user.secret_blob)
        except SecretKeyError as exc:
            log.error("%s", exc)
            return LoginResult(Outcome.STORE_ERROR)
        check = totp.check_code(secret, code, now, user.last_step, user.digits)
        del secret
        if check.verdict is totp.Verdict.REPLAY:
            return LoginResult(Outcome.REPLAY)
        if check.verdict is not totp.Verdict.OK or check.step is None:
            return self._failure(store, cfg, callsign, source, node, lane, now, Outcome.WRONG)
        # A good login leaves the budget as it is: emptying it would hand an attacker
        # who hears the login a fresh burst of guesses.
        store.record_login(callsign, check.step, now, source)
        if familiar and penalties.can_be_familiar(source):
            store.add_familiar(callsign, source, now, penalties.FAMILIAR_KEEP)
        return LoginResult(Outcome.OK)

    @staticmethod
    def _failure(
        store: Store,
        cfg: AuthConfig,
        callsign: str,
        source: str,
        node: str,
        lane: str,
        now: float,
        outcome: Outcome,
    ) -> LoginResult:
        until = penalties.source_after_failure(store.source_until(source), now, cfg.source)
        store.set_source_until(source, until, now, cfg.source.max_entries)
        alerts = []
        nb, warn = penalties.budget_after_failure(store.node_state(node), now, cfg.node)
        quiet = penalties.budget_quiet_at(nb, cfg.node)
        store.set_node_state(node, nb, cfg.node.max_entries, quiet)
        if warn:
            alerts.append(
                f"possible guessing attack through {node}: {nb.failures} wrong codes checked"
                f" across callsigns since {_clock(nb.since)} (latest for {callsign});"
                f" {_rate(nb, cfg.node)}"
            )
        cb, warn = penalties.budget_after_failure(
            store.callsign_state(callsign, lane), now, cfg.callsign
        )
        quiet = penalties.budget_quiet_at(cb, cfg.callsign)
        store.set_callsign_state(callsign, cb, cfg.callsign.max_entries, source, quiet, lane)
        if warn:
            where = " from a source it has logged in from" if lane else ""
            alerts.append(
                f"possible guessing attack on {callsign}: {cb.failures} wrong codes checked"
                f"{where} since {_clock(cb.since)} (latest from {source});"
                f" {_rate(cb, cfg.callsign)}"
            )
        return LoginResult(outcome, "; ".join(alerts) or None)


def _lane(store: Store, callsign: str, source: str, now: float) -> str:
    """Which of the callsign's budgets this attempt draws on."""
    if penalties.can_be_familiar(source) and store.is_familiar(
        callsign, source, now - penalties.FAMILIAR_FOR
    ):
        return penalties.FAMILIAR
    return ""


def _clock(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(ts))


def _rate(b: penalties.Budget, cfg: penalties.BudgetConfig) -> str:
    left = max(0, math.floor(cfg.burst - b.level + 1e-9))
    every = cfg.leak_every
    span = f"{every / 3600:g} h" if every >= 3600 else f"{every / 60:g} min"
    return f"{left} more can be checked now, then one every {span}"
