"""One login attempt, decided and recorded in a single store transaction.

Runs on the store's thread. The order matters: penalties are checked before any code
is compared; a good code's step is written and committed before the caller is told
"ok"; a replay is refused without counting as a guess; every refusal looks the same
to the user, and only the log (never with the code) says which it was.

A code sent over the air is heard by anyone, and a jammer can keep it from the gateway.
So off the air (IRC, a direct telnet listener) a code is refused unchecked while the
same callsign logs in on the air or within a code's lifetime after (`radio_busy`), and
the owner hears of it at the next login from home; on IRC a code works only for a
callsign the sysop allows (`gateway irc-codes`), since IRC clients have application
passwords and certificates.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from dataclasses import dataclass

from gateway.auth import admin, loginnotes, penalties, totp
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
    GATEWAY_BUDGET = "gateway budget spent"
    CALLSIGN_DELAY = "callsign budget spent"
    RADIO_BUSY = "code off the air during a radio login"
    NO_IRC_CODES = "codes not allowed on IRC"
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
        radio_busy: bool = False,
    ) -> LoginResult:
        """Decide one attempt for base `callsign` from `source` at time `now`.

        `node` is what the source's budget across callsigns is kept for; by default it
        is derived from `source` (`penalties.node_of`). `familiar=False` keeps the
        attempt off the budget kept for the sources the owner logged in from, whatever
        its source (a browser page: another site's script shares the owner's address).
        `radio_busy`: the callsign is logging in on the air, or was within a code's
        lifetime (`AirLogins.busy`); an attempt from off the air is then refused.
        """
        node = node if node is not None else penalties.node_of(source)
        with store.transaction():
            result = self._decide(
                store, cfg, callsign, code, source, node, now, familiar, radio_busy
            )
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
        radio_busy: bool,
    ) -> LoginResult:
        # Every brake is looked at before any code is compared: a refused attempt costs
        # no guess, and it is answered exactly like a wrong code.
        at = _Attempt(store, cfg, callsign, source, node, now, familiar)
        braked = _brakes(at, radio_busy)
        if braked is not None:
            return braked
        if not totp.is_well_formed(code):
            return LoginResult(Outcome.MALFORMED)
        return self._compare(at, code)

    def _compare(self, at: _Attempt, code: str) -> LoginResult:
        """Compare the code, once every brake let the attempt through."""
        store, callsign, now = at.store, at.callsign, at.now
        user = store.get_user(callsign)
        if user is None:
            totp.check_code(self._decoy, code, now, None, len(code))
            return _failure(at, Outcome.UNKNOWN)
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
            return _failure(at, Outcome.WRONG)
        # A good login leaves the budget as it is: emptying it would hand an attacker
        # who hears the login a fresh burst of guesses.
        store.record_login(callsign, check.step, now, at.source)
        earns = at.familiar and penalties.can_be_familiar(at.source)
        if earns and store.note_login(callsign, at.source, now):
            loginnotes.add(store, callsign, loginnotes.NEW_SOURCE, at.source, now)
        return LoginResult(Outcome.OK)


@dataclass(slots=True)
class _Attempt:
    """One attempt as the brakes, the comparison and the failure see it (no code)."""

    store: Store
    cfg: AuthConfig
    callsign: str
    source: str
    #: What the source's budget across callsigns is kept for.
    node: str
    now: float
    familiar: bool
    #: The budget lane it is judged in (`penalties.FAMILIAR` for a familiar source),
    #: set by the brakes.
    lane: str = ""


def _brakes(at: _Attempt, radio_busy: bool) -> LoginResult | None:
    """The refusal of an attempt before its code is looked at, if any; sets its lane."""
    store, cfg, callsign, source, now = at.store, at.cfg, at.callsign, at.source, at.now
    if penalties.source_blocked(store.source_until(source), now, cfg.source):
        return LoginResult(Outcome.SOURCE_PENALTY)
    # Refusals below are unchecked, but the source pays as for a wrong code: the
    # attempt then writes as a failure does, so its time tells nothing.
    if admin.locked_until(store, callsign) > now:
        return _unchecked(store, cfg, source, now, Outcome.LOCKED)
    at.lane = lane = _lane(store, callsign, source, now) if at.familiar else ""
    if radio_busy and not penalties.on_air(source):
        # Most likely a code heard on the air; the owner's own may still arrive. Refused
        # from the owner's familiar source too (a household's or a club's address is
        # shared with people in radio range), but that source does not pay for it: one
        # who holds a radio prompt open in the owner's name must not run up a penalty
        # on the owner's home address.
        if store.get_user(callsign) is not None:
            loginnotes.add(store, callsign, loginnotes.TRIED_OFF_AIR, source, now)
        if lane == penalties.FAMILIAR:
            return LoginResult(Outcome.RADIO_BUSY)
        return _unchecked(store, cfg, source, now, Outcome.RADIO_BUSY)
    if source.startswith("irc:"):
        user = store.get_user(callsign)
        if user is None or not user.irc_codes:
            return _unchecked(store, cfg, source, now, Outcome.NO_IRC_CODES)
    if lane != penalties.FAMILIAR:
        # A familiar source neither waits on its node's budget nor spends it: wrong
        # codes for other callsigns through the same node do not slow the owner.
        node_budget = penalties.budget_at(store.node_state(at.node), now, cfg.node)
        if not penalties.budget_allows(node_budget, cfg.node):
            return LoginResult(Outcome.NODE_BUDGET)
    everyone = _gateway_key(lane, source)
    if everyone is not None:
        gateway_budget = penalties.budget_at(store.node_state(everyone), now, cfg.gateway)
        if not penalties.budget_allows(gateway_budget, cfg.gateway):
            return LoginResult(Outcome.GATEWAY_BUDGET)
    budget = penalties.budget_at(store.callsign_state(callsign, lane), now, cfg.callsign)
    if not penalties.budget_allows(budget, cfg.callsign):
        return LoginResult(Outcome.CALLSIGN_DELAY)
    return None


def _failure(at: _Attempt, outcome: Outcome) -> LoginResult:
    """A checked failure: the source, the node, the gateway and the callsign pay."""
    store, cfg, callsign, source, node, lane, now = (
        at.store, at.cfg, at.callsign, at.source, at.node, at.lane, at.now
    )  # fmt: skip
    until = penalties.source_after_failure(store.source_until(source), now, cfg.source)
    store.set_source_until(source, until, now, cfg.source.max_entries)
    alerts = []
    if lane != penalties.FAMILIAR:
        nb, warn = penalties.budget_after_failure(store.node_state(node), now, cfg.node)
        quiet = penalties.budget_quiet_at(nb, cfg.node)
        store.set_node_state(node, nb, cfg.node.max_entries, quiet)
        if warn:
            alerts.append(
                f"possible guessing attack through {node}: {nb.failures} wrong codes"
                f" checked across callsigns since {_clock(nb.since)} (latest for"
                f" {callsign}); {_rate(nb, cfg.node)}"
            )
    everyone = _gateway_key(lane, source)
    if everyone is not None:
        gb, warn = penalties.budget_after_failure(store.node_state(everyone), now, cfg.gateway)
        store.set_node_state(
            everyone, gb, cfg.node.max_entries, penalties.budget_quiet_at(gb, cfg.gateway)
        )
        if warn or not penalties.budget_allows(gb, cfg.gateway):
            which = f"from familiar sources through {node}" if lane else "from other sources"
            alerts.append(
                f"possible guessing across the gateway: {gb.failures} wrong codes checked"
                f" {which} since {_clock(gb.since)} (latest for {callsign} from {source});"
                f" {_rate(gb, cfg.gateway)}"
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


def _unchecked(
    store: Store, cfg: AuthConfig, source: str, now: float, outcome: Outcome
) -> LoginResult:
    """Refused before any code is compared; the source pays as for a wrong code."""
    until = penalties.source_after_failure(store.source_until(source), now, cfg.source)
    store.set_source_until(source, until, now, cfg.source.max_entries)
    return LoginResult(outcome)


def _gateway_key(lane: str, source: str) -> str | None:
    """The gateway-wide bucket an attempt draws on: for sources that are not familiar,
    one on the air (BPQ listeners, AX.25 ports) and one off it (direct listeners,
    SASL), so an Internet spray does not slow owners on the air; and one per radio node
    for familiar sources there, so a spree claiming callsigns at one node spends no
    other node's owners'. A familiar address (a direct listener's, SASL's) has none: no
    one else sends from it, and its callsign's own familiar lane bounds its owner."""
    if not lane:
        return penalties.GATEWAY_RADIO if penalties.on_air(source) else penalties.GATEWAY_OTHERS
    if penalties.on_air(source):
        return f"{penalties.GATEWAY_FAMILIAR}:{penalties.node_of(source)}"
    return None


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
