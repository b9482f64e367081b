"""Where a callsign's codes are good (issue 19): familiar sources earned over days, notes
for the owner, radio logins in progress, and codes on IRC only where the sysop allows."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gateway.auth import admin, airlogins, loginnotes, penalties, penaltystore, totp, users
from gateway.auth.airlogins import AirLogins
from gateway.auth.service import Authenticator, Outcome
from gateway.config import Config
from gateway.store import Store
from tests.gateway.test_store_auth import AUTH, SECRET, STEP, T0

DAY = 86400.0
HOME = "telnet:bpq:call:N0TEST"
SASL = "irc:sasl:ip:203.0.113.9"


@pytest.fixture
def store(tmp_path: Path):
    store = Store.open(Config(data_dir=tmp_path / "data"))
    with store.transaction():
        store.put_user("N0TEST", SECRET, STEP - 10 * 2880, T0 - 10 * DAY)
    yield store
    store.close()


def login(store: Store, now: float, source: str = HOME, busy: bool = False) -> Outcome:
    code = totp.code_at(SECRET, totp.time_step(now))
    return (
        Authenticator().attempt(store, AUTH, "N0TEST", code, source, now, radio_busy=busy).outcome
    )


def test_a_source_is_familiar_after_good_logins_on_two_days(store: Store) -> None:
    assert login(store, T0 - DAY) is Outcome.OK
    assert login(store, T0 - DAY + 600) is Outcome.OK  # the same day: still one
    assert not store.is_familiar("N0TEST", HOME, 0)
    assert login(store, T0) is Outcome.OK
    assert store.is_familiar("N0TEST", HOME, 0)


def test_a_thiefs_sources_never_push_out_a_home_in_use(store: Store) -> None:
    with store.transaction():
        for i in range(penalties.FAMILIAR_KEEP):
            store.note_login("N0TEST", f"telnet:n{i}:call:N0TEST", T0 - DAY, granted=True)
        # A source earned on two days, while every home was used this month: it waits.
        store.note_login("N0TEST", "irc:sasl:ip:198.51.100.7", T0 - DAY)
        store.note_login("N0TEST", "irc:sasl:ip:198.51.100.7", T0)
    assert not store.is_familiar("N0TEST", "irc:sasl:ip:198.51.100.7", 0)
    assert all(store.is_familiar("N0TEST", f"telnet:n{i}:call:N0TEST", 0) for i in range(4))
    # A home unused for longer than FAMILIAR_RECENT gives its place up.
    later = T0 + penalties.FAMILIAR_RECENT + DAY
    with store.transaction():
        for i in range(1, 4):
            store.note_login("N0TEST", f"telnet:n{i}:call:N0TEST", later)
        store.note_login("N0TEST", "irc:sasl:ip:198.51.100.7", later)
    assert store.is_familiar("N0TEST", "irc:sasl:ip:198.51.100.7", 0)
    assert not store.is_familiar("N0TEST", "telnet:n0:call:N0TEST", 0)


def test_sources_per_callsign_are_bounded(store: Store) -> None:
    with store.transaction():
        for i in range(100):
            store.note_login("N0TEST", f"telnet:direct:ip:10.0.0.{i}", T0 + i)
    rows = penaltystore.familiar_sources(store, "N0TEST", T0 + 100)
    assert len(rows) == penalties.KNOWN_KEEP


def test_a_login_from_a_new_source_is_told_at_home_only(store: Store) -> None:
    with store.transaction():
        store.note_login("N0TEST", HOME, T0 - 2 * DAY, granted=True)
        users.set_irc_codes(store, "N0TEST", True)
    assert login(store, T0, SASL) is Outcome.OK
    (note,) = loginnotes.pending(store, "N0TEST")
    assert note.text.startswith("New login as you with a code from IRC at 203.0.113.9 at ")
    assert note.text.isascii()
    # Read once, at home.
    assert [n.text for n in loginnotes.take(store, "N0TEST")] == [note.text]
    assert loginnotes.pending(store, "N0TEST") == []


def test_notes_are_bounded(store: Store) -> None:
    with store.transaction():
        loginnotes.add(store, "N0TEST", loginnotes.NEW_SOURCE, SASL, T0)
        for i in range(50):  # a burst of tried codes does not push the login out
            loginnotes.add(store, "N0TEST", loginnotes.TRIED_OFF_AIR, SASL, T0 + i)
    kinds = [n.kind for n in loginnotes.pending(store, "N0TEST")]
    assert kinds == [loginnotes.NEW_SOURCE] + [loginnotes.TRIED_OFF_AIR] * loginnotes.KEEP
    store.prune(T0 + loginnotes.MAX_AGE + 60, 0)
    assert loginnotes.pending(store, "N0TEST") == []


def test_a_code_tried_for_an_unenrolled_callsign_leaves_no_note(store: Store) -> None:
    auth = Authenticator()
    for i in range(20):
        source = f"irc:sasl:ip:10.0.0.{i}"
        r = auth.attempt(store, AUTH, f"K{i}XX", "123456", source, T0 + i, radio_busy=True)
        assert r.outcome is Outcome.RADIO_BUSY
    assert store.db.execute("SELECT count(*) FROM login_notes").fetchone() == (0,)
    air = AirLogins(Clock())
    air.closed("K1XX")  # never opened: not kept
    assert not air.busy("K1XX")


def test_two_logins_either_side_of_midnight_are_one_day(store: Store) -> None:
    midnight = (T0 // DAY + 1) * DAY
    with store.transaction():
        store.note_login("N0TEST", SASL, midnight - 40)
        store.note_login("N0TEST", SASL, midnight + 20)
    assert not store.is_familiar("N0TEST", SASL, 0)
    with store.transaction():
        store.note_login("N0TEST", SASL, midnight - 40 + penalties.DAY_APART)
    assert store.is_familiar("N0TEST", SASL, 0)


def test_codes_on_irc_only_where_the_sysop_allows(store: Store) -> None:
    assert login(store, T0, SASL) is Outcome.NO_IRC_CODES
    # Refused unchecked: the code is still good on the air, and the source paid.
    assert store.source_until(SASL) > T0
    assert login(store, T0 + 1) is Outcome.OK
    with store.transaction():
        assert users.set_irc_codes(store, "N0TEST", True)
        assert not users.set_irc_codes(store, "K9NONE", True)
    assert users.irc_code_callsigns(store) == ["N0TEST"]
    assert login(store, T0 + 30, SASL) is Outcome.OK


def test_a_code_off_the_air_during_a_radio_login_is_refused_and_told(store: Store) -> None:
    with store.transaction():
        users.set_irc_codes(store, "N0TEST", True)
    for source in (SASL, "telnet:direct:ip:192.0.2.1"):
        assert login(store, T0, source, busy=True) is Outcome.RADIO_BUSY
    # On the air, the same callsign's login is not held up by it.
    assert login(store, T0, HOME, busy=True) is Outcome.OK
    notes = loginnotes.pending(store, "N0TEST")
    assert [n.kind for n in notes] == [loginnotes.TRIED_OFF_AIR] * 2
    assert "tried from IRC at 203.0.113.9" in notes[0].text
    assert "while you logged in on air; refused." in notes[0].text


def test_a_radio_prompt_held_open_runs_up_no_penalty_at_the_owners_home(store: Store) -> None:
    # One who holds a Code: prompt open in the owner's name (a forged SABM, a public
    # BPQ node) gets codes off the air refused, from the owner's familiar address too
    # (a household's or club's address is shared with people in radio range); but that
    # address does not pay for it, so the owner gets in as soon as the prompt is gone.
    desk, cafe = "telnet:direct:ip:192.0.2.7", "telnet:direct:ip:198.51.100.3"
    with store.transaction():
        store.note_login("N0TEST", desk, T0 - 3 * DAY)
        store.note_login("N0TEST", desk, T0 - 2 * DAY)
    assert store.is_familiar("N0TEST", desk, 0)
    for i in range(5):
        assert login(store, T0 + i, desk, busy=True) is Outcome.RADIO_BUSY
    assert login(store, T0 + 5, cafe, busy=True) is Outcome.RADIO_BUSY
    assert store.source_until(desk) == 0.0 and store.source_until(cafe) > T0 + 5
    assert login(store, T0 + 30, desk) is Outcome.OK
    # Not when the caller says the source cannot be familiar (a browser page): it pays.
    code = totp.code_at(SECRET, totp.time_step(T0 + 60))
    r = Authenticator().attempt(
        store, AUTH, "N0TEST", code, desk, T0 + 60, familiar=False, radio_busy=True
    )
    assert r.outcome is Outcome.RADIO_BUSY and store.source_until(desk) > T0 + 60


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_air_logins_hold_for_the_prompt_and_a_codes_lifetime_after() -> None:
    clock = Clock()
    air = AirLogins(clock)
    assert airlogins.WINDOW == 180.0 and not air.busy("N0TEST")
    air.opened("N0TEST")
    clock.now += 3600  # a prompt left open is busy however long
    assert air.busy("N0TEST")
    air.opened("N0TEST")
    air.closed("N0TEST")
    assert air.busy("N0TEST")
    air.closed("N0TEST")
    clock.now += airlogins.WINDOW - 1
    assert air.busy("N0TEST")
    clock.now += 1
    assert not air.busy("N0TEST")
    # What ran out is forgotten.
    air.opened("K1ABC")
    air.closed("K1ABC")
    clock.now += airlogins.WINDOW
    air.opened("K2ABC")
    assert "K1ABC" not in air._last


def test_air_logins_outlive_a_restart_within_the_window(store: Store) -> None:
    """What the store kept is taken back at start: a prompt open when the gateway died
    counts from the restart, a closed one for what is left of its window, and a change
    dated in the future (the wall clock stepped back at boot) from the restart too."""
    wall = T0
    airlogins.remember(store, "N0TEST", wall - 60, 0)  # closed a minute before the stop
    airlogins.remember(store, "K1ABC", wall - 3600, 1)  # open when it died
    airlogins.remember(store, "K2ABC", wall + 600, 0)  # the clock stepped back
    airlogins.remember(store, "K3ABC", wall - airlogins.WINDOW - 1, 0)  # ran out
    clock = Clock()
    air = AirLogins(clock)
    rows = airlogins.recent(store, wall)
    assert sorted(call for call, _, _ in rows) == ["K1ABC", "K2ABC", "N0TEST"]
    air.restore(rows, wall)
    assert all(air.busy(call) for call in ("N0TEST", "K1ABC", "K2ABC"))
    assert not air.busy("K3ABC")
    clock.now += airlogins.WINDOW - 60
    assert not air.busy("N0TEST") and air.busy("K1ABC") and air.busy("K2ABC")
    clock.now += 60
    assert not air.busy("K1ABC") and not air.busy("K2ABC")
    # A row per callsign, the latest change; a revoked callsign's goes with it.
    airlogins.remember(store, "N0TEST", wall + 1, 1)
    assert ("N0TEST", wall + 1, 1) in airlogins.recent(store, wall, 0)
    store.delete_user("N0TEST")
    assert "N0TEST" not in {c for c, _, _ in airlogins.recent(store, wall, 10 * airlogins.WINDOW)}


def test_the_gateway_budget_bounds_a_spray_and_spares_familiar_sources(store: Store) -> None:
    cfg = dataclasses.replace(
        AUTH, gateway=dataclasses.replace(AUTH.gateway, burst=3, warn_after=100)
    )
    auth = Authenticator()
    with store.transaction():
        store.note_login("N0TEST", HOME, T0 - DAY, granted=True)
    alerts = []
    for i in range(4):  # every guess from its own address, each for its own callsign
        r = auth.attempt(store, cfg, f"K{i}AB", "123456", f"telnet:direct:ip:10.0.0.{i}", T0 + i)
        alerts.append(r.alert)
    assert r.outcome is Outcome.GATEWAY_BUDGET
    assert alerts[2] is not None and "across the gateway: 3 wrong codes" in alerts[2]
    # The owner from home draws on the other bucket.
    code = totp.code_at(SECRET, totp.time_step(T0 + 10))
    assert auth.attempt(store, cfg, "N0TEST", code, HOME, T0 + 10).ok
    lines = admin.penalty_lines(store, cfg, T0 + 11)
    assert any(line.startswith("node *gateway: ") for line in lines), lines
    assert admin.unlock(store, "*gateway") == 1
    r = auth.attempt(store, cfg, "K9AB", "123456", "telnet:direct:ip:10.0.0.9", T0 + 12)
    assert r.outcome is Outcome.UNKNOWN


def test_not_me_stops_codes_on_irc_and_forgets_unearned_sources(store: Store) -> None:
    from gateway.auth import audit
    from gateway.session.chatcommands import HELP_TEXT, resolve

    assert getattr(resolve("NO"), "name", None) == "NOTME"
    assert "NOTME" not in HELP_TEXT  # offered with the notes, not on every /?
    with store.transaction():
        users.set_irc_codes(store, "N0TEST", True)
        store.note_login("N0TEST", HOME, T0 - DAY, granted=True)
        store.note_login("N0TEST", SASL, T0)
        store.note_login("N0TEST", "telnet:other:call:N0TEST", T0 - 3 * DAY, granted=True)
    assert loginnotes.not_me(store, "N0TEST", T0 + 1, HOME) == 2
    assert users.irc_code_callsigns(store) == []
    assert [s for s, _, _ in penaltystore.familiar_sources(store, "N0TEST", T0 + 1)] == [HOME]
    (entry,) = audit.since(store, 0)
    assert entry.action == "notme N0TEST" and entry.who == "radio:N0TEST"


def test_an_upgrade_keeps_recent_familiar_sources_and_rekeys_ax25(tmp_path: Path) -> None:
    import sqlite3
    import time

    config = Config(data_dir=tmp_path / "data")
    Store.open(config).close()
    db = sqlite3.connect(tmp_path / "data" / "gateway.db")
    db.execute("DROP TABLE familiar_sources")
    db.execute(
        "CREATE TABLE familiar_sources (callsign TEXT NOT NULL, source TEXT NOT NULL,"
        " last_login REAL NOT NULL, PRIMARY KEY (callsign, source))"
    )
    now = time.time()
    db.executemany(
        "INSERT INTO familiar_sources VALUES (?, ?, ?)",
        [
            ("N0TEST", HOME, now - DAY),
            ("N0TEST", "ax25:vhf:direct", now - DAY),
            ("N0TEST", "telnet:old:call:N0TEST", now - 60 * DAY),
        ],
    )
    db.commit()
    db.close()
    store = Store.open(config)
    try:
        assert store.is_familiar("N0TEST", HOME, 0)
        assert store.is_familiar("N0TEST", "ax25:vhf:direct:call:N0TEST", 0)
        assert not store.is_familiar("N0TEST", "telnet:old:call:N0TEST", 0)
    finally:
        store.close()


def test_the_gateway_budget_slows_with_more_radio_nodes(tmp_path: Path) -> None:
    """Strangers off the air, strangers on it and each radio node's familiar sources
    have buckets of their own: with R radio nodes, the default leak slows so that the
    2 + R buckets allow no more than two at the default (under 1 % a year)."""
    from gateway.config import load_config

    def leak(text: str) -> float:
        path = tmp_path / "g.yaml"
        path.write_text(text)
        return load_config(path).auth.gateway.leak_every

    base = AUTH.gateway
    two_at_default = 2 * penalties.checks_bound(base, penalties.YEAR)
    direct = leak("telnet: {listen: [{port: 8023, bpq: false}]}\n")
    assert direct == base.leak_every  # no radio node: one bucket, the default
    one = leak("telnet: {listen: [{port: 8023}]}\n")
    two = "telnet: {listen: [{port: 8023}, {port: 8024}]}\n"
    ports = "callsign: N0GW-10\nradio: {ports: [{name: a, tcp: '127.0.0.1:8001'}]}\n"
    for r, every in ((1, one), (2, leak(two)), (3, leak(two + ports))):
        cfg = dataclasses.replace(base, leak_every=every)
        total = (2 + r) * penalties.checks_bound(cfg, penalties.YEAR)
        assert total == pytest.approx(two_at_default), r
        assert penalties.success_chance(total) < 0.01
    assert round(one / 3600, 1) == 9.3
    assert leak(two + "auth: {gateway_budget: {leak_every: 3600}}\n") == 3600.0  # the sysop's


def test_an_internet_spray_does_not_slow_owners_on_the_air(store: Store) -> None:
    """Radio-side review, finding 1: 100 wrong codes from 100 Internet addresses spent
    the one strangers' bucket, and owners on the air without a familiar source (their
    first days, a new path) were refused with it. The air has a bucket of its own."""
    cfg = dataclasses.replace(
        AUTH, gateway=dataclasses.replace(AUTH.gateway, burst=3, warn_after=100)
    )
    auth = Authenticator()
    for i in range(4):
        r = auth.attempt(store, cfg, f"K{i}AB", "123456", f"telnet:direct:ip:10.0.0.{i}", T0 + i)
    assert r.outcome is Outcome.GATEWAY_BUDGET  # the Internet's bucket is spent
    # The owner on the air, from sources not familiar yet: the air's bucket is whole.
    for at, source in ((T0 + 10, "ax25:vhf:direct:call:N0TEST"), (T0 + 40, HOME)):
        assert not store.is_familiar("N0TEST", source, 0)
        code = totp.code_at(SECRET, totp.time_step(at))
        assert auth.attempt(store, cfg, "N0TEST", code, source, at).ok, source
    # And the other way round: a spray on the air leaves the Internet's owners alone.
    for i in range(4):
        path = f"ax25:vhf:direct:call:K{i}CD"
        r = auth.attempt(store, cfg, f"K{i}CD", "123456", path, T0 + 60 + i)
    assert r.outcome is Outcome.GATEWAY_BUDGET
    lines = admin.penalty_lines(store, cfg, T0 + 70)
    assert any(line.startswith("node *gateway:radio: ") for line in lines), lines
    assert admin.unlock(store, "*gateway") == 2  # the sysop clears both
