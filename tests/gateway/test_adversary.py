"""The adversary suite: guessing strategies against the real Authenticator and store.

Each strategy drives `Authenticator.attempt` on a real SQLite store with an injected
clock, over a simulated year unless it says otherwise, while the owner logs in from
home (a BPQ node) a few times a day. Each test asserts the bound SECURITY.md states:
no strategy gets more wrong codes checked for the victim than both budget lanes allow
(2 x (burst + T / leak_every)), so the chance of success stays under 1 % a year.

The attackers are stronger than real ones. They know the configuration and read the
store, so every guess goes in the moment a check is possible, and they change source
for every guess (a fresh address on a direct listener) so that per-source penalties and
node budgets never slow them: only the callsign budget does. Where a strategy says so,
they also send from the owner's own way in (claiming the callsign through the owner's
node), which draws on the budget kept for familiar sources too.

The figures in SECURITY.md come from this module:

    .venv/bin/python -m tests.gateway.test_adversary
"""

from __future__ import annotations

import heapq
import logging
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway.auth import penalties, totp
from gateway.auth.service import Authenticator, Outcome
from gateway.config import AuthConfig, Config
from gateway.store import Store

VICTIM = "N0TEST"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
HOME = f"telnet:bpq:call:{VICTIM}"
T0 = 1_800_000_000.0
DAY = 86400.0
YEAR = penalties.YEAR
#: How often the owner tries again after a refusal.
RETRY = 600.0
CHECKED = frozenset({Outcome.WRONG, Outcome.UNKNOWN})

#: An attacker yields (time, source) for its next guess; it may read `sim` in between.
Strategy = Callable[["Sim"], Iterator[tuple[float, str]]]


@dataclass
class Result:
    name: str
    seconds: float
    checked: int = 0
    refused: int = 0
    first_alert: float | None = None
    checked_before_alert: int = 0
    alerts: int = 0
    owner_tries: int = 0
    owner_logins: int = 0
    owner_waits: list[float] = field(default_factory=list)

    @property
    def bound(self) -> float:
        return 2 * penalties.checks_bound(AuthConfig().callsign, self.seconds)

    @property
    def per_year(self) -> float:
        return self.checked * YEAR / self.seconds

    @property
    def success(self) -> float:
        """Chance that this strategy, kept up for a year, finds a valid code."""
        return penalties.success_chance(self.per_year)

    @property
    def worst_wait(self) -> float:
        return max(self.owner_waits, default=0.0)


class Sim:
    def __init__(self, data_dir: Path, cfg: AuthConfig | None = None) -> None:
        self.cfg = cfg or AuthConfig()
        self.store = Store.open(Config(data_dir=data_dir, auth=self.cfg))
        # Speed only: durability has its own tests, the decisions are the same.
        self.store.db.execute("PRAGMA synchronous=OFF")
        with self.store.transaction():
            self.store.put_user(VICTIM, SECRET, totp.time_step(T0 - 2 * DAY), T0 - 2 * DAY)
        self.auth = Authenticator()
        self.now = T0
        self._sources = 0
        self.last_owner_step = 0
        # The owner has logged in from home on two days: that is what makes it familiar.
        assert self.owner_try(T0 - DAY - 3600)
        assert self.owner_try(T0 - 3600)
        assert self.store.is_familiar(VICTIM, HOME, T0 - DAY)

    def close(self) -> None:
        self.store.close()

    def fresh_source(self) -> str:
        self._sources += 1
        n = self._sources
        return f"telnet:direct:ip:10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"

    def guess(self, now: float, source: str, callsign: str = VICTIM) -> Outcome:
        valid = {totp.code_at(SECRET, totp.time_step(now) + k) for k in (-1, 0, 1)}
        code = next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)
        result = self.auth.attempt(self.store, self.cfg, callsign, code, source, now)
        assert not result.ok
        self.last_alert = result.alert
        self.last_outcome = result.outcome
        return result.outcome

    def owner_try(self, now: float) -> bool:
        step = totp.time_step(now)
        if step <= self.last_owner_step:
            return False  # the app shows the same code: the owner waits for the next
        result = self.auth.attempt(
            self.store, self.cfg, VICTIM, totp.code_at(SECRET, step), HOME, now
        )
        if result.ok:
            self.last_owner_step = step
        return result.ok

    def next_slot(self, now: float, lane: str = "") -> float:
        """When the victim's budget in `lane`, and the gateway's, next have room for a
        checked guess."""
        cfg = self.cfg.callsign
        b = penalties.budget_at(self.store.callsign_state(VICTIM, lane), now, cfg)
        at = max(now, penalties.budget_next_check(b, cfg))
        everyone = penalties.GATEWAY_OTHERS
        if lane:
            everyone = f"{penalties.GATEWAY_FAMILIAR}:{penalties.node_of(HOME)}"
        g = penalties.budget_at(self.store.node_state(everyone), now, self.cfg.gateway)
        return max(at, penalties.budget_next_check(g, self.cfg.gateway))

    def home_ready(self, now: float) -> float:
        """When the owner's own source is next out of its per-source penalty."""
        until = self.store.source_until(HOME)
        return max(now, until - self.cfg.source.grace)

    def best_guess(self, now: float, home_too: bool) -> tuple[float, str]:
        """The earliest guess that will be checked, and the source to send it from."""
        best = (self.next_slot(now), self.fresh_source())
        familiar = self.store.is_familiar(VICTIM, HOME, now - penalties.FAMILIAR_FOR)
        if home_too and familiar:
            at = max(self.next_slot(now, penalties.FAMILIAR), self.home_ready(now))
            if at < best[0]:
                best = (at, HOME)
        return best


def simulate(
    data_dir: Path,
    name: str,
    attacker: Strategy,
    seconds: float,
    owner_per_day: float = 2.0,
    seed: int = 1,
) -> Result:
    """Run `attacker` against the victim for `seconds` while the owner logs in."""
    rng = random.Random(seed)
    sim = Sim(data_dir)
    result = Result(name, seconds)
    end = T0 + seconds
    # (time, order, kind, first try of this login)
    events: list[tuple[float, int, str, float]] = []
    t = T0
    while owner_per_day:
        t += rng.expovariate(owner_per_day / DAY)
        if t >= end:
            break
        events.append((t, 1, "owner", t))
    heapq.heapify(events)
    moves = attacker(sim)
    pending: tuple[float, str] | None = next(moves, None)
    owner_busy_until = 0.0
    logging.disable(logging.WARNING)  # a year of refusals would flood the captured log
    try:
        while True:
            if pending is not None and (not events or pending[0] <= events[0][0]):
                at, source = pending
                if at >= end:
                    pending = None
                    continue
                sim.now = at
                outcome = sim.guess(at, source)
                if outcome in CHECKED:
                    result.checked += 1
                else:
                    result.refused += 1
                if sim.last_alert:
                    result.alerts += 1
                    if result.first_alert is None:
                        result.first_alert = at - T0
                        result.checked_before_alert = result.checked
                pending = next(moves, None)
                continue
            if not events:
                break
            at, _, _, first = heapq.heappop(events)
            if first == at and at < owner_busy_until:
                continue  # still trying from an earlier login
            sim.now = at
            step = totp.time_step(at)
            if step <= sim.last_owner_step:
                # The app still shows the code just used: the owner waits for the next.
                heapq.heappush(events, ((sim.last_owner_step + 1) * 30.0, 1, "owner", first))
                continue
            result.owner_tries += 1
            if sim.owner_try(at):
                result.owner_logins += 1
                result.owner_waits.append(at - first)
                owner_busy_until = 0.0
            elif at + RETRY < end:
                owner_busy_until = at + RETRY + 1
                heapq.heappush(events, (at + RETRY, 1, "owner", first))
            else:
                result.owner_waits.append(end - first)  # still locked out at the end
    finally:
        logging.disable(logging.NOTSET)
        sim.close()
    return result


def assert_bounds(result: Result) -> None:
    """What every strategy must respect (SECURITY.md)."""
    cfg = AuthConfig().callsign
    assert result.checked <= result.bound, result
    assert result.success < 0.01, result
    # Unnoticed guessing is bounded far lower still: a warning comes before more than
    # this many checks, whatever the pace.
    quiet = 2 * penalties.unwarned_bound(cfg, result.first_alert or result.seconds)
    assert result.checked_before_alert <= quiet or result.first_alert is None, result
    if result.first_alert is None:
        assert result.checked <= 2 * penalties.unwarned_bound(cfg, result.seconds), result


# -- the strategies ------------------------------------------------------------------


def continuous(home_too: bool) -> Strategy:
    """Guess at every check the budget allows, all year long."""

    def run(sim: Sim) -> Iterator[tuple[float, str]]:
        t = T0
        while True:
            t, source = sim.best_guess(t, home_too)
            yield t, source
            if sim.last_outcome not in CHECKED:
                t += 1  # mistaken about the slot: never spin at one instant

    return run


def burst_and_wait(burst: int, wait: float) -> Strategy:
    """A burst of guesses one second apart, then silence (the old count forgot after 24 h)."""

    def run(sim: Sim) -> Iterator[tuple[float, str]]:
        t = T0
        while True:
            for i in range(burst):
                yield t + i, sim.fresh_source()
            t += burst + wait

    return run


def after_each_login(per_day: float, seed: int) -> Strategy:
    """Guess right after each login heard on air, stop a minute before the next one
    (the old count was cleared by every good login)."""

    def run(sim: Sim) -> Iterator[tuple[float, str]]:
        rng = random.Random(seed)
        heard = T0
        while True:
            gap = rng.expovariate(per_day / DAY)
            t, stop = heard + 1, heard + gap - 60
            while t < stop:
                t, source = sim.best_guess(t, home_too=True)
                if t >= stop:
                    break
                yield t, source
                t += 1
            heard = max(heard + gap, sim.now)
            # The owner logs in: it changes nothing the attacker can use any more.
            if not sim.owner_try(heard):
                heard += 30

    return run


def ramp(start: float, stop: float) -> Strategy:
    """Blind guessing, one a day at first, then faster and faster (one per `stop` s)."""

    def run(sim: Sim) -> Iterator[tuple[float, str]]:
        t, ratio = T0, stop / start
        while True:
            yield t, sim.fresh_source()
            t += start * ratio ** ((t - T0) / YEAR)

    return run


def polling(every: float, source: str | None) -> Strategy:
    """Poll for the slot the budget opens: one guess every `every` s, blind."""

    def run(sim: Sim) -> Iterator[tuple[float, str]]:
        t = T0
        while True:
            yield t, source or sim.fresh_source()
            t += every

    return run


# -- the tests -----------------------------------------------------------------------


def test_continuous_from_everywhere_incl_the_owners_node(tmp_path: Path) -> None:
    result = simulate(tmp_path, "continuous, incl. the owner's node", continuous(True), YEAR)
    assert_bounds(result)
    # Both lanes spent at every opening while the owner's home is familiar; the owner,
    # kept out all along, has not logged in from there for 180 days after that, so it
    # is not familiar any more and the attacker there draws on the other lane alone.
    assert result.bound * 0.7 <= result.checked <= result.bound
    assert result.owner_logins == 0
    assert result.first_alert is not None and result.first_alert <= 60


def test_continuous_from_elsewhere_never_keeps_the_owner_out(tmp_path: Path) -> None:
    result = simulate(tmp_path, "continuous, from elsewhere", continuous(False), YEAR)
    assert_bounds(result)
    assert result.checked == pytest.approx(result.bound / 2, abs=2)
    # The owner, from home, draws on the familiar sources' budget: never refused.
    assert result.owner_logins > 600 and result.worst_wait == 0.0


@pytest.mark.parametrize(("burst", "wait"), [(54, DAY), (10, 80 * 3600.0), (3, 6 * 3600.0)])
def test_burst_and_wait(tmp_path: Path, burst: int, wait: float) -> None:
    result = simulate(
        tmp_path, f"burst {burst}, wait {wait / 3600:g} h", burst_and_wait(burst, wait), YEAR
    )
    assert_bounds(result)
    assert result.worst_wait == 0.0


@pytest.mark.parametrize("per_day", [1.0, 10.0])
def test_after_each_heard_login(tmp_path: Path, per_day: float) -> None:
    name = f"after each login, {per_day:g}/day"
    result = simulate(tmp_path, name, after_each_login(per_day, 7), YEAR, owner_per_day=0)
    assert_bounds(result)
    assert result.first_alert is not None and result.first_alert <= DAY


def test_ramp(tmp_path: Path) -> None:
    result = simulate(tmp_path, "ramp, 1/day to 1/5 min", ramp(DAY, 300.0), YEAR)
    assert_bounds(result)
    assert result.worst_wait == 0.0


def test_polling_for_slots_from_elsewhere(tmp_path: Path) -> None:
    result = simulate(tmp_path, "polling every 10 s, 3 days", polling(10.0, None), 3 * DAY, 12)
    assert_bounds(result)
    assert result.owner_logins and result.worst_wait <= totp.STEP_SECONDS


def test_polling_from_the_owners_own_node_then_stopping(tmp_path: Path) -> None:
    # A station in range of the owner's node, claiming the callsign through it, polling
    # faster than the owner: it takes every slot of both lanes while it keeps going.
    name = "polling every 30 s at the owner's node, 2 days"
    result = simulate(tmp_path, name, polling(30.0, HOME), 2 * DAY, owner_per_day=6)
    assert_bounds(result)
    assert result.owner_logins == 0
    # When it stops, the owner is in within one leak interval.
    sim = Sim(tmp_path / "after")
    try:
        t = T0
        for _ in range(200):
            sim.guess(t, HOME)
            t += 30
        t += 1
        while not sim.owner_try(t):
            t += RETRY
        assert t - (T0 + 200 * 30) <= AuthConfig().callsign.leak_every + RETRY
    finally:
        sim.close()


def spray(
    data_dir: Path,
    seconds: float,
    blind: bool = False,
    source: Callable[[Sim, str], str] = lambda sim, call: f"telnet:node2:call:{call}",
    callsigns: int = 240,
    homes: bool = False,
    cfg: AuthConfig | None = None,
) -> tuple[int, int, int]:
    """Every callsign in turn, from `source` (by default through one BPQ node), at every
    check the budgets allow (`blind`: one guess every 2 ms whatever the answer).
    `homes`: each callsign's way in through that node is familiar to it (the attacker
    claims callsigns through their owners' own node).

    Returns (checked in all, checked for the victim, refused)."""
    sim = Sim(data_dir, cfg)
    calls = [VICTIM] + [f"K{i}AB" for i in range(callsigns - 1)]
    checked = victim = refused = 0
    t, n, end = T0, 0, T0 + seconds
    kept_at = -math.inf
    logging.disable(logging.WARNING)
    try:
        while t < end:
            if homes and t - kept_at >= 30 * DAY:
                # The owners keep using their node, so it stays familiar to each.
                kept_at = t
                with sim.store.transaction():
                    for call in calls:
                        sim.store.note_login(call, source(sim, call), t, granted=True)
            call = calls[n % len(calls)]
            outcome = sim.guess(t, source(sim, call), call)
            n += 1
            if outcome in CHECKED:
                checked += 1
                victim += call == VICTIM
            else:
                refused += 1
            t += 0.002
            if not blind:
                t = max(t, next_check(sim, t, homes, penalties.on_air(source(sim, call))))
    finally:
        logging.disable(logging.NOTSET)
        sim.close()
    return checked, victim, refused


def next_check(sim: Sim, now: float, familiar: bool, on_air: bool = True) -> float:
    """When the node and gateway-wide budgets next have room (the attacker reads them).
    `on_air`: through the BPQ node (else from fresh addresses, each its own node)."""
    cfg = sim.cfg
    everyone = penalties.GATEWAY_RADIO if on_air else penalties.GATEWAY_OTHERS
    if familiar:
        everyone = f"{penalties.GATEWAY_FAMILIAR}:telnet:node2"
    gateway = penalties.budget_at(sim.store.node_state(everyone), now, cfg.gateway)
    at = penalties.budget_next_check(gateway, cfg.gateway)
    if not familiar and on_air:
        node = penalties.budget_at(sim.store.node_state("telnet:node2"), now, cfg.node)
        at = max(at, penalties.budget_next_check(node, cfg.node))
    return at


def test_spraying_through_one_node(tmp_path: Path) -> None:
    # 720 guesses at 240 callsigns in 1.4 s through one BPQ listener: 20 are checked.
    checked, _, refused = spray(tmp_path / "fast", 1.44, blind=True)
    assert checked == AuthConfig().node.burst and refused == 700
    # Kept up for a week at the node's pace: the node and gateway bounds hold.
    week = 7 * DAY
    checked, victim, _ = spray(tmp_path / "week", week)
    cfg = AuthConfig()
    assert (
        checked
        <= min(penalties.checks_bound(cfg.node, week), penalties.checks_bound(cfg.gateway, week))
        + 1
    )
    assert victim <= checked / 240 + 1


def rig_auth(data_dir: Path) -> AuthConfig:
    """The auth settings the gateway runs with on this rig: a direct listener and one
    BPQ listener (node2), so three gateway buckets and the default leak slowed for them
    (`config.read._gateway_budget_for_nodes`)."""
    from gateway.config import load_config

    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "rig.yaml"
    path.write_text(
        "telnet: {listen: [{name: node2, port: 8023}, {name: direct, port: 8024, bpq: false}]}\n"
    )
    return load_config(path).auth


def any_account(data_dir: Path, seconds: float) -> tuple[int, float, float]:
    """Finding 5: 100 callsigns sprayed from a fresh address at every guess, as strangers
    through a BPQ node, and through each owner's own node, for `seconds`: (checked in
    all, chance some account fell, the bound of the gateway's three buckets)."""
    cfg = rig_auth(data_dir)
    fresh, _, _ = spray(
        data_dir / "fresh", seconds, source=lambda sim, call: sim.fresh_source(),
        callsigns=100, cfg=cfg,
    )  # fmt: skip
    air, _, _ = spray(data_dir / "air", seconds, callsigns=100, cfg=cfg)
    homes, _, _ = spray(data_dir / "homes", seconds, callsigns=100, homes=True, cfg=cfg)
    checked = fresh + air + homes
    bound = 3 * penalties.checks_bound(cfg.gateway, seconds)
    return checked, penalties.success_chance(checked), bound


def test_spraying_every_callsign_from_everywhere_for_a_year(tmp_path: Path) -> None:
    """Finding 5: every address its own node gave 717 checks of 720 in 0.9 s; the
    gateway-wide budget holds whatever the number of addresses and callsigns."""
    checked, chance, bound = any_account(tmp_path, YEAR)
    assert checked <= bound + 3
    assert bound <= 2 * penalties.checks_bound(AuthConfig().gateway, YEAR) + 1
    assert chance < 0.01
    assert penalties.any_account_chance_per_year(AuthConfig().gateway) < 0.01


def test_wrong_codes_for_other_callsigns_do_not_slow_the_owner(tmp_path: Path) -> None:
    """Finding 3: 20 wrong codes for invented callsigns through the owner's BPQ node in
    0.3 s, then one every 5 s: owners at home behind that node were let in 1 time of 12.
    Now a familiar source neither waits on nor spends its node's budget."""
    sim = Sim(tmp_path)
    logging.disable(logging.WARNING)
    try:
        t, owner_in, owner_tries = T0, 0, 0
        for i in range(20):
            sim.guess(T0 + i * 0.015, f"telnet:bpq:call:W{i}ZZZ", f"W{i}ZZZ")
        for k in range(72):  # 6 minutes, one every 5 s
            t = T0 + 0.3 + 5 * k
            sim.now = t
            sim.guess(t, f"telnet:bpq:call:W{k + 20}ZZZ", f"W{k + 20}ZZZ")
            if k % 6 == 0:  # the owner tries every 30 s
                owner_tries += 1
                owner_in += sim.owner_try(t + 1)
        assert sim.last_outcome is Outcome.NODE_BUDGET  # the node is spent for strangers
    finally:
        logging.disable(logging.NOTSET)
        sim.close()
    assert (owner_in, owner_tries) == (12, 12)


def test_ax25_wrong_codes_for_another_callsign_on_the_same_path(tmp_path: Path) -> None:
    """Finding 3 on AX.25: three wrong codes claiming W9ZZZ put K4OWN's login on the same
    port and path under penalty. The source names the claimed callsign now."""
    sim = Sim(tmp_path)
    try:
        for i in range(3):
            sim.guess(T0 + i, "ax25:vhf:direct:call:W9ZZZ", "W9ZZZ")
        assert sim.store.source_until("ax25:vhf:direct:call:N0TEST") == 0.0
        step = totp.time_step(T0 + 10)
        result = sim.auth.attempt(
            sim.store, sim.cfg, VICTIM, totp.code_at(SECRET, step), "ax25:vhf:direct:call:N0TEST",
            T0 + 10,
        )  # fmt: skip
        assert result.ok
    finally:
        sim.close()


# -- the figures ---------------------------------------------------------------------


def figures(base: Path) -> list[Result]:
    runs: list[tuple[str, Strategy, float, float]] = [
        ("continuous, incl. the owner's node", continuous(True), YEAR, 2),
        ("continuous, from elsewhere", continuous(False), YEAR, 2),
        ("burst 54, wait 24 h", burst_and_wait(54, DAY), YEAR, 2),
        ("burst 10, wait 80 h", burst_and_wait(10, 80 * 3600.0), YEAR, 2),
        ("after each login, 1/day", after_each_login(1.0, 7), YEAR, 0),
        ("after each login, 10/day", after_each_login(10.0, 7), YEAR, 0),
        ("ramp, 1/day to 1/5 min", ramp(DAY, 300.0), YEAR, 2),
        ("polling every 10 s from elsewhere", polling(10.0, None), 3 * DAY, 12),
        ("polling every 30 s at the owner's node", polling(30.0, HOME), 2 * DAY, 6),
    ]
    return [
        simulate(base / str(i), name, strategy, seconds, per_day)
        for i, (name, strategy, seconds, per_day) in enumerate(runs)
    ]


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "none"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds >= YEAR:
        return f"{seconds / YEAR:.2g} y"
    return f"{seconds / 3600:.1f} h" if seconds < 2 * DAY else f"{seconds / DAY:.1f} d"


def table_row(r: Result) -> str:
    """One row of SECURITY.md's table."""
    # A short run's burst would be inflated if scaled to a year: no chance there.
    chance = f"{r.success * 100:.2f} %" if r.seconds >= YEAR else "-"
    if r.owner_waits:
        owner = f"{r.owner_logins}/{len(r.owner_waits)} in, worst wait {_span(r.worst_wait)}"
    else:
        owner = "-"
    return (
        f"| {r.name} | {_span(r.seconds)} | {r.checked:,} ({r.bound:,.0f}) | {chance} |"
        f" {_span(r.first_alert)} | {owner} |"
    )


@pytest.mark.slow  # a second run of every strategy (about 10 s)
def test_security_md_states_these_figures(tmp_path: Path) -> None:
    """SECURITY.md's table is this module's output, row for row."""
    text = (Path(__file__).parents[2] / "SECURITY.md").read_text()
    for row in map(table_row, figures(tmp_path)):
        assert row in text, f"SECURITY.md lacks: {row}"


def main() -> None:
    import tempfile

    cfg = AuthConfig()
    print(
        f"callsign budget: burst {cfg.callsign.burst}, one per {cfg.callsign.leak_every:g} s,"
        f" two lanes: bound {penalties.guesses_per_year(cfg.callsign):.1f} checks a year,"
        f" {penalties.success_chance_per_year(cfg.callsign) * 100:.2f} %"
        f" (8 digits: {penalties.success_chance_per_year(cfg.callsign, digits=8) * 100:.4f} %)"
    )
    unwarned = 2 * penalties.unwarned_bound(cfg.callsign, YEAR)
    print(
        f"unwarned: at most {unwarned} checks a year"
        f" ({penalties.success_chance(unwarned) * 100:.2f} %);"
        f" node: burst {cfg.node.burst}, one per {cfg.node.leak_every:g} s,"
        f" {penalties.checks_bound(cfg.node, YEAR):.0f} checks a year across callsigns"
    )
    print()
    print("| strategy | time | checked (bound) | chance a year | first warning | owner |")
    print("|---|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for r in figures(Path(tmp)):
            print(table_row(r))
        fast, _, refused = spray(Path(tmp) / "spray", 1.44, blind=True)
        print(
            f"\nspraying 720 guesses at 240 callsigns in 1.4 s: {fast} checked, {refused} refused"
        )
        checked, chance, bound = any_account(Path(tmp) / "any", YEAR)
        print(
            f"spraying 100 callsigns for a year from a fresh address at every guess, as"
            f" strangers through a BPQ node and through every owner's own node:"
            f" {checked:,} checked (bound {bound:,.0f}), {chance * 100:.2f} % that any"
            " account fell"
        )


if __name__ == "__main__":
    main()
