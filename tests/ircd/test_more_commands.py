"""LIST with ELIST, WHO with WHOX, WHOWAS, TIME, INFO, ADMIN, WALLOPS, REHASH, DIE."""

from __future__ import annotations

import argon2

from ircd.hooks import Control, OperAction, rehash_refused

CHEAP_HASH = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw")


def test_list_and_elist_filters(harness) -> None:
    a = harness.user("alice")
    b = harness.user("bob")
    a.send("JOIN #ham", "JOIN #hamradio", "JOIN #secret", "MODE #secret +s", "TOPIC #ham :QSO")
    b.send("JOIN #ham")
    harness.wall.now += 600
    b.send("JOIN #new")
    a.take()
    b.take()

    def listed(query: str, who=b) -> list[tuple[str, ...]]:
        who.send(f"LIST {query}".strip())
        replies = who.take()
        assert replies[0].command == "321" and replies[-1].command == "323"
        return [m.params[1:3] for m in replies if m.command == "322"]

    assert sorted(listed("")) == [("#ham", "2"), ("#hamradio", "1"), ("#new", "1")]
    assert ("#secret", "1") in listed("", who=a)  # members see secret channels
    assert listed(">1") == [("#ham", "2")]
    assert sorted(listed("<2")) == [("#hamradio", "1"), ("#new", "1")]
    assert sorted(listed("#ham*")) == [("#ham", "2"), ("#hamradio", "1")]
    assert listed("#ham*,!*radio") == [("#ham", "2")]
    assert listed("C<5") == [("#new", "1")]
    assert listed("T>5") == [("#ham", "2")]
    assert listed("#hamradio") == [("#hamradio", "1")]
    b.send("LIST #ham")
    assert b.take()[1].params[3] == "[+nt] QSO"
    assert "ELIST=CMNTU" in harness.server.isupport


def test_whox(harness) -> None:
    a = harness.user("alice")
    a.client.account = "acct"
    b = harness.user("bob")
    a.send("JOIN #c")
    b.send("JOIN #c")
    a.take()
    b.take()
    b.send("WHO #c %tcuhnfar,42")
    replies = b.take()
    assert replies[0].command == "354"
    assert replies[0].params == (
        "bob",
        "42",
        "#c",
        "~alice",
        "192.0.2.1",
        "alice",
        "H@",
        "acct",
        "Real alice",
    )
    assert replies[1].params[7] == "0"  # bob has no account
    b.send("WHO alice %ni")
    assert b.take()[0].params == ("bob", "192.0.2.1", "alice")


def test_whowas(harness) -> None:
    a = harness.user("alice")
    a.send("NICK alice2", "QUIT :bye")
    b = harness.user("bob")
    b.send("WHOWAS alice", "WHOWAS alice2 1", "WHOWAS nobody")
    replies = b.take()
    assert [m.command for m in replies] == ["314", "312", "369", "314", "312", "369", "406", "369"]
    assert replies[0].params[1:] == ("alice", "~alice", "192.0.2.1", "*", "Real alice")


def test_whowas_is_bounded(make_harness) -> None:
    h = make_harness(whowas=3)
    for i in range(10):
        c = h.user(f"u{i}")
        c.send(f"NICK v{i}")
    assert len(h.server.whowas) == 3
    assert h.server.whowas.get("u9") and not h.server.whowas.get("u0")


def test_time_info_admin(harness) -> None:
    a = harness.user("alice")
    a.send("TIME", "INFO", "ADMIN", "TIME other.server")
    codes = a.commands()
    assert codes[0] == "391"
    assert codes[1:4] == ["371", "371", "371"]
    assert codes[4:9] == ["374", "256", "257", "258", "259"]
    assert codes[-1] == "402"


def test_wallops_to_plus_w_users(harness) -> None:
    op = harness.user("op")
    harness.server.set_oper(op.client, "root")
    w = harness.user("listener")
    w.send("MODE listener +w")
    assert w.take()[0].params == ("listener", "+w")
    quiet = harness.user("quiet")
    op.send("WALLOPS :network maintenance at 20z")
    got = w.take()
    assert got[0].command == "WALLOPS" and got[0].params == ("network maintenance at 20z",)
    assert quiet.take() == []
    quiet.send("WALLOPS :x")
    assert quiet.commands() == ["481"]


def test_rehash_and_die_need_control(harness) -> None:
    op = harness.user("op")
    harness.server.set_oper(op.client, "root")
    op.send("REHASH", "DIE")
    assert op.commands() == ["400", "400"]
    calls: list[str] = []
    harness.server.control = Control(
        rehash=lambda: calls.append("rehash") or "reloaded x", die=lambda: calls.append("die")
    )
    op.send("REHASH", "DIE")
    replies = op.take()
    assert replies[0].command == "382"
    assert calls == ["rehash", "die"]
    user = harness.user("user")
    user.send("REHASH", "DIE")
    assert user.commands() == ["481", "481"]


def test_rehash_answers_its_outcome_to_every_operator_and_audits_it(make_harness) -> None:
    h = make_harness(sync=True)
    actions: list[OperAction] = []
    outcomes = iter(["reloaded gw.yaml", rehash_refused(["gw.yaml:7: irc.port: bad", "x"])])

    async def later() -> str:
        return next(outcomes)

    h.server.control = Control(rehash=later, audit=actions.append)
    op, other = h.user("op"), h.user("other")
    h.server.set_oper(op.client, "root")
    h.server.set_oper(other.client, "root")
    other.take()
    for expected in (
        "reloaded gw.yaml",
        "refused, the running configuration stays: gw.yaml:7: irc.port: bad "
        "(and 1 more: see the log)",
    ):
        op.send("REHASH")
        h.settle()
        replies = op.take()
        assert [m.command for m in replies] == ["382", "NOTICE"]
        said = f"*** ANNOUNCEMENT: op (oper root) rehashed the server: {expected}"
        assert replies[1].params[1] == said
        assert [m.params[1] for m in other.take()] == [said]
        assert actions.pop() == OperAction("op", "root", "192.0.2.1", "REHASH", expected)


def test_kill_and_die_are_audited(harness) -> None:
    actions: list[OperAction] = []
    harness.server.control = Control(die=lambda: None, audit=actions.append)
    op = harness.user("op")
    harness.server.set_oper(op.client, "root")
    harness.user("victim")
    op.send("KILL victim :flooding", "KILL ghost :x", "DIE")
    assert [(a.nick, a.oper, a.action, a.result) for a in actions] == [
        ("op", "root", "KILL victim: flooding", "killed"),
        ("op", "root", "KILL ghost: x", "no such nick"),
        ("op", "root", "DIE", "stopping"),
    ]


def test_rehash_names_the_file_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ircd.config import load_irc_config
    from tests.ircd.conftest import Harness

    path = tmp_path / "gateway.yaml"
    path.write_text("irc:\n  server_name: irc.test\n", encoding="utf-8")
    h = Harness(load_irc_config(path))
    h.server.control = Control(rehash=lambda: "reloaded")
    op = h.user("op")
    h.server.set_oper(op.client, "root")
    op.send("REHASH")
    assert op.take()[0].params[1:] == (str(path), f"Rehashing {path}")


def test_bot_mode(harness) -> None:
    bot = harness.user("bot")
    bot.send("MODE bot +B")
    assert bot.take()[0].params == ("bot", "+B")
    assert "BOT=B" in harness.server.isupport


async def test_live_rehash_and_die(start_live_server, live_client) -> None:
    server = start_live_server(f'opers: [{{name: root, password_hash: "{CHEAP_HASH}"}}]\n')
    op = await live_client(server.port)
    await op.register("op")
    await op.send("OPER root pw")
    await op.expect("381")
    await op.send("REHASH")
    rehashing = await op.expect("382")
    # The file actually read, not a made-up "ircd.yaml".
    assert rehashing.params[1] == str(server.config_path)
    notice = await op.expect("NOTICE")
    said = "*** ANNOUNCEMENT: op (oper root) rehashed the server: reloaded"
    assert notice.params[1].startswith(said)
    await op.send("DIE")
    closing = await op.until_closed()
    assert closing[-1].command == "ERROR"
    assert server.proc.wait(timeout=10) == 0


def test_links_and_helpop(harness) -> None:  # type: ignore[no-untyped-def]
    a = harness.user("alice")
    a.send("LINKS", "LINKS *.elsewhere")
    assert [(m.command, m.params[1:]) for m in a.take()] == [
        ("364", ("irc.test", "irc.test", "0 Packet radio gateway")),
        ("365", ("*", "End of /LINKS list")),
        ("365", ("*", "End of /LINKS list")),
    ]
    a.send("HELPOP TOPIC")
    assert a.take()[0].params[1:] == ("TOPIC", "TOPIC <channel> [:<topic>]")
