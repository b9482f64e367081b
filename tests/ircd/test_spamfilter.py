"""Spamfilter: targets, actions, exemptions, the time budget, SPAMFILTER, config and a live run."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import argon2
import pytest

from ircd.config import ExemptConfig, load_irc_config
from ircd.masks import parse_mask_item
from ircd.spamfilter import MAX_PATTERN, WINDOW, FilterSpec, SpamFilterError, SpamFilters

CHEAP_HASH = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw")


class StepTimer:
    """A perf_counter_ns stand-in: every reading is `step` ns after the previous one."""

    def __init__(self, step: int = 1000) -> None:
        self.now = 0
        self.step = step

    def __call__(self) -> int:
        self.now += self.step
        return self.now


def spec(match: str = "buy.*now", targets: str = "channel", action: str = "block", **kw):
    return FilterSpec.build(match, targets.split(","), action, kw.pop("reason", "spam"), **kw)


def setup(make_harness, *specs: FilterSpec, **kwargs):
    h = make_harness(spamfilter=specs, **kwargs)
    op = h.connect("203.0.113.1").register("op")
    h.server.set_oper(op.client, "root")
    spammer = h.connect("192.0.2.1").register("spammer")
    friend = h.connect("203.0.113.2").register("friend")
    for c in (op, spammer, friend):
        c.send("JOIN #c")
    for c in (op, spammer, friend):
        c.take()
    return h, op, spammer, friend


def notices(client) -> list[str]:
    return [m.params[-1] for m in client.take() if m.command == "NOTICE"]


# -- targets, action block ----------------------------------------------------------------


def test_channel_message_blocked(make_harness) -> None:
    _h, op, spammer, friend = setup(make_harness, spec(targets="channel"))
    spammer.send("PRIVMSG #c :BUY cheap stuff NOW", "PRIVMSG #c :hello")
    replies = spammer.take()
    assert [(m.command, m.params[-1]) for m in replies] == [("404", "Message blocked: spam")]
    assert [m.params[-1] for m in friend.take()] == ["hello"]  # case-insensitive match
    assert any("matched spammer!" in t and "#1" in t for t in notices(op))


def test_private_message_and_notice_blocked(make_harness) -> None:
    _h, _op, spammer, friend = setup(make_harness, spec(targets="private"))
    spammer.send("PRIVMSG friend :buy now", "NOTICE friend :buy now", "PRIVMSG #c :buy now")
    assert notices(spammer) == ["Message to friend blocked: spam"] * 2
    assert [m.command for m in friend.take()] == ["PRIVMSG"]  # only the channel one


def test_part_and_quit_lose_their_text(make_harness) -> None:
    _h, _op, spammer, friend = setup(make_harness, spec(targets="part,quit"))
    spammer.send("PART #c :buy now")
    part = [m for m in friend.take() if m.command == "PART"]
    assert part[0].params == ("#c",)
    spammer.send("JOIN #c")
    friend.take()
    spammer.send("QUIT :buy now")
    assert [m.params for m in friend.take() if m.command == "QUIT"] == [("Quit",)]


def test_topic_and_away_blocked(make_harness) -> None:
    h, op, spammer, _friend = setup(make_harness, spec(targets="topic,away"))
    op.send("MODE #c -t")
    spammer.send("TOPIC #c :buy now", "AWAY :buy now")
    assert notices(spammer) == ["Topic blocked: spam", "Away message blocked: spam"]
    assert h.server.find_channel("#c").topic == ""
    assert spammer.client.away is None
    spammer.send("AWAY :lunch")
    assert spammer.client.away == "lunch"


def test_nick_blocked(make_harness) -> None:
    h, _op, spammer, _friend = setup(make_harness, spec("^buy", targets="nick"))
    spammer.send("NICK buyer")
    assert [(m.command, m.params[-1]) for m in spammer.take()] == [
        ("432", "Nickname blocked: spam")
    ]
    fresh = h.connect("192.0.2.9")
    fresh.send("NICK buyer2")
    assert fresh.commands() == ["432"]


def test_user_at_registration_and_setname(make_harness) -> None:
    h = make_harness(spamfilter=(spec(r"!~bot\d*@.*:free coins$", targets="realname"),))
    bad = h.connect("192.0.2.7")
    bad.send("NICK x", "USER bot7 0 * :free coins")
    assert bad.sink.closed and b"001" not in bad.sink.data
    ok = h.connect("192.0.2.8").register("alice", "setname")
    ok.send("SETNAME :free coins")
    assert [m.command for m in ok.take()] == ["SETNAME"]  # user part is ~alice: no match
    bot = h.connect("192.0.2.9")
    bot.send("CAP LS 302", "CAP REQ setname", "NICK b", "USER bot 0 * :b", "CAP END")
    bot.take()
    bot.send("SETNAME :free coins")
    fail = bot.take()
    assert [m.command for m in fail] == ["FAIL"] and "blocked" in fail[0].params[-1]


# -- other actions and exemptions ---------------------------------------------------------


def test_kill_action(make_harness) -> None:
    h, _op, spammer, friend = setup(make_harness, spec(action="kill", targets="channel,private"))
    spammer.send("PRIVMSG friend,#c :buy now", "PRIVMSG #c :after")
    assert spammer.sink.closed
    assert b"KILL spammer :Spamfilter: spam" in spammer.sink.data
    quits = [m for m in friend.take() if m.command == "QUIT"]
    assert quits and "Spamfilter" in quits[0].params[0]
    assert h.server.find_nick("spammer") is None


def test_gline_action(make_harness) -> None:
    h, _op, spammer, _friend = setup(
        make_harness, spec(action="gline", duration=600, reason="go away"), sync=True
    )
    same_ip = h.connect("192.0.2.1").register("sameip")
    spammer.send("PRIVMSG #c :buy now")
    h.settle()  # the store write runs in the background
    line = h.server.admission.xlines.lines("G")[0]
    assert line.mask == "*@192.0.2.1" and line.set_by == "spamfilter"
    assert line.expires == h.wall.now + 600
    assert spammer.sink.closed and same_ip.sink.closed
    again = h.connect("192.0.2.1")
    again.send("NICK back", "USER back 0 * :x")
    assert again.sink.closed and b"465" in again.sink.data


def test_warn_action_lets_it_through(make_harness) -> None:
    _h, op, spammer, friend = setup(make_harness, spec(action="warn"))
    spammer.send("PRIVMSG #c :buy now")
    assert [m.params[-1] for m in friend.take()] == ["buy now"]
    assert any("warn (spam)" in t for t in notices(op))


def test_opers_and_exempt_masks_are_not_screened(make_harness) -> None:
    exempt = ExemptConfig(spamfilter=parse_mask_item({"ip": "198.51.100.0/24"}))
    h, op, _spammer, friend = setup(make_harness, spec(), exempt=exempt)
    op.send("PRIVMSG #c :buy now")
    trusted = h.connect("198.51.100.5").register("trusted")
    trusted.send("JOIN #c", "PRIVMSG #c :buy now")
    assert [m.params[-1] for m in friend.take() if m.command == "PRIVMSG"] == ["buy now"] * 2


# -- cost: re2 and the time budget --------------------------------------------------------


def test_pathological_pattern_completes_on_long_input() -> None:
    # (a+)+$ backtracks exponentially in Python's re; re2 runs it in linear time.
    filters = SpamFilters(
        (spec("(a+)+$"), spec("(x+x+)+y")), max_filters=10, budget_ms=1000, on_disable=print
    )
    assert filters.match("channel", "a" * 200_000 + "!") is None
    assert filters.match("channel", "x" * 200_000) is None
    assert filters.match("channel", "b" + "a" * 50) is not None


def test_slow_filter_disabled_and_announced(make_harness, caplog) -> None:
    timer = StepTimer(step=1_500_000)  # every evaluation "takes" 1.5 ms
    h, op, spammer, friend = setup(
        make_harness, spec("never-matches"), spec("buy"), perf_timer=timer
    )
    first, second = list(h.server.spamfilters)
    with caplog.at_level(logging.WARNING, logger="ircd.spamfilter"):
        for i in range(WINDOW - 1):
            spammer.send(f"PRIVMSG #c :hello {i}")
        assert first.disabled is None  # not a full window yet
        spammer.send("PRIVMSG #c :hello again")
    assert first.disabled is not None and second.disabled is not None
    assert sum("too slow" in t for t in notices(op)) == 2
    assert "disabled: too slow" in caplog.text
    timer.step = 1
    spammer.send("PRIVMSG #c :buy now")  # no filter in force any more
    assert [m.params[-1] for m in friend.take()][-1] == "buy now"
    assert first.evaluations == WINDOW  # a disabled filter is not evaluated


def test_one_outlier_is_tolerated_one_huge_run_is_not(make_harness) -> None:
    timer = StepTimer(step=1000)
    h, _op, spammer, _friend = setup(make_harness, spec("zzz"), perf_timer=timer)
    (f,) = h.server.spamfilters
    timer.step = 3_000_000  # 3 ms once, then fast again: the window mean stays low
    spammer.send("PRIVMSG #c :one")
    timer.step = 1000
    for i in range(WINDOW * 2):
        spammer.send(f"PRIVMSG #c :{i}")
    assert f.disabled is None
    timer.step = WINDOW * 1_000_000 + 1  # costs a whole window's budget at once
    spammer.send("PRIVMSG #c :huge")
    assert f.disabled is not None


# -- SPAMFILTER and reload ----------------------------------------------------------------


def test_spamfilter_command(make_harness) -> None:
    _h, op, spammer, _friend = setup(make_harness, spec("configured"), max_spamfilters=2)
    spammer.send("SPAMFILTER list")
    assert spammer.commands() == ["481"]
    op.send("SPAMFILTER add channel,private block - no_spam_please :c(heap|lean)\\s+pills")
    assert any("#2 [private,channel] block" in t for t in notices(op))
    spammer.send("PRIVMSG #c :CHEAP  pills")
    assert spammer.take()[0].params[-1] == "Message blocked: no spam please"
    op.take()
    op.send("SPAMFILTER add channel warn - x :third")
    assert notices(op) == ["Spamfilter not added: the spamfilter table is full (2)"]
    op.send("SPAMFILTER list")
    rows = op.take()
    assert [m.command for m in rows] == ["229", "229", "219"]
    assert rows[1].params[1:6] == ("#2", "private,channel", "block", "enabled", "root")
    assert rows[1].params[-1] == "c(heap|lean)\\s+pills"
    op.send("SPAMFILTER del 1", "SPAMFILTER del 2", "SPAMFILTER del 2", "SPAMFILTER del x")
    texts = notices(op)
    assert "is configured" in texts[0] and "removed by op (oper root)" in texts[1]
    assert texts[2:] == [
        "Spamfilter not removed: no spamfilter #2",
        "Spamfilter not removed: not a filter id: x",
    ]


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ("channel block - r :(\\w)\\1", "re2 cannot compile it"),
        ("channel block - r :(?=x)y", "re2 cannot compile it"),
        ("chan block - r :x", "targets must be"),
        ("channel shun - r :x", "action must be"),
        ("channel block 1h r :x", "duration applies to action gline only"),
        ("channel gline soon r :x", "Invalid duration"),
        ("channel block - r :" + "x" * (MAX_PATTERN + 1), "longer than"),
    ],
)
def test_spamfilter_add_refusals(make_harness, params: str, problem: str) -> None:
    h, op, _spammer, _friend = setup(make_harness)
    op.send("SPAMFILTER add " + params)
    (text,) = notices(op)
    assert problem in text
    assert len(h.server.spamfilters) == 0


def test_reload_reenables_configured_and_keeps_added(make_harness) -> None:
    h, op, spammer, _friend = setup(make_harness, spec("zzz"), perf_timer=StepTimer(10**10))
    op.send("SPAMFILTER add private warn - r :yyy")
    spammer.send("PRIVMSG #c :x")
    configured, added = list(h.server.spamfilters)
    assert configured.disabled is not None
    h.server.reload(h.server.config)
    assert [f.id for f in h.server.spamfilters] == [configured.id, added.id]
    assert configured.disabled is None
    h.server.reload(dataclasses.replace(h.server.config, spamfilter=()))
    assert [f.origin for f in h.server.spamfilters] == ["root"]


# -- configuration --------------------------------------------------------------------------


def test_config_reads_filters(tmp_path: Path) -> None:
    path = tmp_path / "irc.yaml"
    path.write_text(
        "irc:\n"
        "  spamfilter:\n"
        "    - {match: 'buy.*now', targets: [private, channel], action: block, reason: Spam}\n"
        "    - {match: '^free', targets: realname, action: gline, duration: 2h}\n"
        "  exempt: {spamfilter: {ip: 10.0.0.0/8}}\n"
        "  limits: {max_spamfilters: 5, spamfilter_budget_ms: 0.5}\n"
    )
    cfg = load_irc_config(path)
    first, second = cfg.spamfilter
    assert first.targets == {"private", "channel"} and first.reason == "Spam"
    assert second.targets == {"user"} and second.duration == 7200
    assert cfg.limits.spamfilter_budget_ms == 0.5
    assert cfg.exempt.spamfilter is not None


def test_config_errors_name_the_line(tmp_path: Path) -> None:
    from ircd.config import ConfigError

    path = tmp_path / "irc.yaml"
    path.write_text(
        "irc:\n"
        "  limits: {max_spamfilters: 3}\n"
        "  spamfilter:\n"
        "    - {match: '(a)\\1', targets: channel, action: block}\n"
        "    - {match: ok, targets: [channel, bogus], action: block}\n"
        "    - {match: ok, targets: channel, action: ban}\n"
        "    - {match: ok, targets: channel, action: block, duration: 1h}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_irc_config(path)
    problems = info.value.problems
    assert problems[0].startswith(f"{path}:4: irc.spamfilter: 4 filters, more than")
    assert problems[1].startswith(f"{path}:4: irc.spamfilter[0].match: re2 cannot compile it")
    assert problems[2].startswith(f"{path}:5: irc.spamfilter[1].targets: expected one of")
    assert problems[3].startswith(f"{path}:6: irc.spamfilter[2].action: expected one of")
    assert problems[4] == (
        f"{path}:7: irc.spamfilter[3].duration: a duration applies to action gline only"
    )


def test_filter_spec_refuses_empty_things() -> None:
    with pytest.raises(SpamFilterError):
        spec("")
    with pytest.raises(SpamFilterError):
        FilterSpec.build("x", [], "block", "r")


# -- over a live socket ----------------------------------------------------------------------


async def test_live_spamfilter_blocks_channel_spam(start_live_server, live_client) -> None:
    server = start_live_server(
        "spamfilter:\n"
        "  - {match: 'buy.*now', targets: [channel], action: block, reason: No spam}\n"
        f'opers: [{{name: root, password_hash: "{CHEAP_HASH}"}}]\n'
    )
    spammer = await (await live_client(server.port)).register("spammer")
    friend = await (await live_client(server.port)).register("friend")
    try:
        for c in (spammer, friend):
            await c.send("JOIN #c")
            await c.expect("366")
        await spammer.send("PRIVMSG #c :Buy it NOW", "PRIVMSG #c :hello")
        blocked = await spammer.expect("404")
        assert blocked.params[-1] == "Message blocked: No spam"
        got = await friend.expect("PRIVMSG")
        assert got.params[-1] == "hello"
        await spammer.send("SPAMFILTER list")
        assert (await spammer.expect("481", "229")).command == "481"
    finally:
        await spammer.close()
        await friend.close()
