"""K/G/Z-lines with expiry and storage, connection throttling, and exemptions by mask."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import argon2
import pytest

from ircd.config import ExemptConfig
from ircd.hooks import Control, OperAction
from ircd.masks import parse_mask_item
from ircd.throttle import ConnectionRate, ConnThrottle, ThrottleConfig
from ircd.xlines import FileBanStore, XLine, XLineTable, normalize_xline_mask

CHEAP_HASH = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw")


@pytest.mark.parametrize(
    ("kind", "raw", "mask"),
    [
        ("K", "bad@*.example.net", "bad@*.example.net"),
        ("K", "Host.Example", "*@host.example"),
        ("G", "*@192.0.2.0/24", "*@192.0.2.0/24"),
        ("Z", "192.0.2.*", "192.0.2.*"),
        ("Z", "2001:db8::/32", "2001:db8::/32"),
        ("K", "*@*", None),
        ("K", "*", None),
        ("Z", "*", None),
        ("Z", "0.0.0.0/0", None),
        ("Z", "a@b", None),
        ("K", "a b@c", None),
    ],
)
def test_normalize_xline_mask(kind: str, raw: str, mask: str | None) -> None:
    assert normalize_xline_mask(kind, raw) == mask


def oper(h, nick: str = "root", ip: str = "203.0.113.1"):
    c = h.connect(ip).register(nick)
    h.server.set_oper(c.client, "root")
    return c


@pytest.fixture
def harness(make_harness):  # type: ignore[no-untyped-def]
    """Ban writes run in the background: here they wait for `harness.settle()`."""
    return make_harness(sync=True)


def test_kline_by_nick_disconnects_and_refuses_later(harness) -> None:
    op = oper(harness)
    victim = harness.connect("192.0.2.50").register("victim")
    bystander = harness.connect("192.0.2.51").register("bystander")
    op.send("KLINE victim 10m :spamming")
    harness.settle()
    assert victim.sink.closed
    assert b"K-lined: spamming" in victim.sink.data
    assert not bystander.sink.closed
    notices = [m.params[1] for m in op.take() if m.command == "NOTICE"]
    # KLINE <nick> says what mask it made of the nick.
    assert notices[0] == (
        "victim is ~victim@192.0.2.50 [192.0.2.50]: the K-line covers *@192.0.2.50, "
        "every connection from that address"
    )
    said = "*** XLINE: K-line on *@192.0.2.50 (expires in 600 seconds) by root"
    assert notices[1].startswith(said)
    assert "K-line saved" in notices
    again = harness.connect("192.0.2.50")
    again.send("NICK back", "USER back 0 * :b")
    replies = again.take()
    assert [m.command for m in replies] == ["465", "ERROR"]
    assert replies[0].params[1] == "You are banned from this server: spamming"
    # Operators hear of the hit (snomask x).
    [hit] = [m.params[1] for m in op.take()]
    assert hit == "*** XLINE: back (~back@192.0.2.50) [192.0.2.50] refused: K-lined: spamming"
    op.send("STATS k")
    stats = op.take()
    # InspIRCd's row: 216 <mask> <set at> <duration> <set by> :<reason>.
    assert stats[0].command == "216"
    assert stats[0].params[1:] == ("*@192.0.2.50", "1700000000", "600", "root", "spamming")
    assert stats[-1].command == "219"
    op.send("UNKLINE *@192.0.2.50")
    harness.settle()
    harness.connect("192.0.2.50").register("back")


def test_kline_expires(harness) -> None:
    harness.server.start()
    op = oper(harness)
    op.send("KLINE baduser@* 1m :bye")
    harness.settle()
    harness.wall.now += 61
    harness.scheduler.advance(10)  # the periodic tick drops expired lines
    harness.settle()
    assert len(harness.server.admission.xlines) == 0
    ok = harness.connect()
    ok.send("NICK baduser", "USER baduser 0 * :x")
    assert "001" in ok.commands()


def test_gline_on_username_and_zline_at_connect(harness) -> None:
    op = oper(harness)
    op.send("GLINE baduser@* :no", "ZLINE 198.51.100.0/24 1h :go away")
    harness.settle()
    g = harness.connect()
    g.send("NICK x", "USER baduser 0 * :x")
    assert g.commands() == ["465", "ERROR"]
    sink, client = harness.connect_raw("198.51.100.9")
    assert client is None
    assert sink.closed
    assert b"Z-lined: go away" in sink.data
    op.send("UNZLINE 198.51.100.0/24", "UNZLINE 198.51.100.0/24")
    harness.settle()
    assert [m.params[1] for m in op.take()][-1] == "No Z-line on 198.51.100.0/24"
    assert harness.connect_raw("198.51.100.9")[1] is not None


def test_bad_xline_input(harness) -> None:
    user = harness.user("user")
    user.send("KLINE x@y :no", "STATS k")
    assert user.commands() == ["481", "481"]
    op = oper(harness)
    op.send("KLINE *@* :all", "KLINE a@b 5x :r", "ZLINE a@b")
    texts = [m.params[1] for m in op.take()]
    assert texts[0].startswith("Invalid or too wide K-line mask")
    assert texts[1] == (
        "Usage: KLINE [-force] <user@host|nick> [<duration>] [:<reason>] (or <duration> "
        "<user@host|nick> :<reason>); durations 300, 10m, 2h, 7d, 0 for permanent"
    )
    assert texts[2].startswith("Invalid or too wide Z-line mask")


def test_ban_table_is_bounded(make_harness) -> None:
    h = make_harness(max_xlines=2, sync=True)
    op = oper(h)
    op.send("KLINE a@x", "KLINE b@x", "KLINE c@x")
    h.settle()
    assert "The ban table is full (2)" in [m.params[1] for m in op.take()]
    assert len(h.server.admission.xlines) == 2


def test_exempt_bans_by_mask(make_harness) -> None:
    h = make_harness(exempt=ExemptConfig(bans=parse_mask_item({"ip": "192.0.2.7"})), sync=True)
    op = oper(h)
    op.send("ZLINE 192.0.2.0/24 :all of them")
    h.settle()
    assert h.connect_raw("192.0.2.7")[1] is not None
    assert h.connect_raw("192.0.2.8")[1] is None


async def test_file_ban_store_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "bans.json"
    store = FileBanStore(str(path))
    assert await store.load() == []
    line = XLine(kind="K", mask="a@b", reason="r", set_by="root", set_at=1.0, expires=None)
    await store.add(line)
    await store.add(XLine(kind="Z", mask="10.*", reason="r", set_by="x", set_at=2.0, expires=9.0))
    await store.remove("Z", "10.*")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert await FileBanStore(str(path)).load() == [line]
    assert [p.name for p in tmp_path.iterdir()] == ["bans.json"]  # no temp file left


async def test_damaged_ban_file_is_logged_not_fatal(tmp_path: Path, caplog) -> None:
    path = tmp_path / "bans.json"
    path.write_text("{not json")
    with caplog.at_level(logging.ERROR):
        assert await FileBanStore(str(path)).load() == []
    assert "cannot read bans" in caplog.text
    path.write_text(json.dumps({"lines": [{"kind": "Q"}, {"kind": "K"}]}))
    assert await FileBanStore(str(path)).load() == []


async def test_live_klines_persist_across_restart(tmp_path: Path, start_live_server, live_client):
    yaml = f"""\
    bans_file: bans.json
    opers: [{{name: root, password_hash: "{CHEAP_HASH}"}}]
    """
    server = start_live_server(yaml)
    op = await live_client(server.port)
    await op.register("op")
    await op.send("OPER root pw")
    await op.expect("381")
    await op.send("KLINE baduser@* :persisted")
    notice = await op.expect("NOTICE")
    while notice.params[1] != "K-line saved":
        notice = await op.expect("NOTICE")
    await op.close()
    server.kill()
    server = start_live_server(yaml)
    bad = await live_client(server.port)
    await bad.send("NICK bad", "USER baduser 0 * :x")
    assert (await bad.expect("465", "001")).command == "465"
    await bad.close()


def test_xline_table_matches_users_and_ips() -> None:
    table = XLineTable(10)
    table.add(XLine(kind="K", mask="evil@*.example.net", reason="", set_by="", set_at=0))
    table.add(XLine(kind="Z", mask="10.0.0.0/8", reason="", set_by="", set_at=0, expires=5))
    assert table.find_user("~evil", ("h.example.net",), "192.0.2.1", 0) is not None
    assert table.find_user("good", ("h.example.net",), "192.0.2.1", 0) is None
    assert table.find_user("good", ("h",), "10.1.1.1", 0) is not None
    assert table.find_ip("10.1.1.1", 6) is None  # expired


# -- throttling ---------------------------------------------------------------------------

FAST = ThrottleConfig(new_users=2, period=60, known_after=300, start_delay=0)


def test_throttle_token_bucket_and_known_addresses() -> None:
    t = ConnThrottle(FAST, started=0)
    assert t.admit_unknown(1) and t.admit_unknown(2)
    assert not t.admit_unknown(3)
    assert t.admit_unknown(33)  # one token back after 30 s
    t.remember("192.0.2.1", connected_for=10)
    assert not t.is_known("192.0.2.1")
    t.remember("192.0.2.1", connected_for=301)
    assert t.is_known("192.0.2.1")
    delayed = ConnThrottle(ThrottleConfig(new_users=1, start_delay=100), started=0)
    assert all(delayed.admit_unknown(i) for i in range(10))  # nothing throttled at start


def test_connthrottle_new_unknown_clients(make_harness) -> None:
    h = make_harness(
        throttle=FAST, exempt=ExemptConfig(throttle=parse_mask_item({"ip": "127.0.0.1"}))
    )
    h.connect("192.0.2.1").register("a1")
    h.connect("192.0.2.2").register("a2")
    third = h.connect("192.0.2.3")
    third.send("NICK a3", "USER a3 0 * :x")
    assert b"Throttled" in third.sink.data and third.sink.closed
    h.connect("127.0.0.1").register("exempt")
    logged_in = h.connect("192.0.2.4")
    logged_in.client.account = "acct"  # as SASL would have set it
    logged_in.register("acct")
    # A connection that lasted makes its address known.
    h.clock.now += 400
    h.server.disconnect(h.server.find_nick("a1"), "bye")
    h.connect("192.0.2.1").register("a1again")


def test_connection_rate_per_source_is_a_bounded_token_bucket() -> None:
    rate = ConnectionRate(burst=3, period=30, max_sources=100)
    assert [rate.admit("192.0.2.1", 0) for _ in range(4)] == [True, True, True, False]
    assert rate.admit("192.0.2.2", 0)  # another source has its own bucket
    assert not rate.admit("192.0.2.1", 5)
    assert rate.admit("192.0.2.1", 10)  # one token back after period / burst
    assert rate.refused == 2
    for i in range(1000):
        rate.admit(f"10.0.{i // 250}.{i % 250}", 20)
    assert len(rate) == 100  # the least recently used are forgotten


def test_connections_from_one_address_are_rated(make_harness) -> None:
    rated = ThrottleConfig(per_address=5, per_address_period=50, known_after=60)
    h = make_harness(
        throttle=rated, exempt=ExemptConfig(throttle=parse_mask_item({"ip": "127.0.0.1"}))
    )
    h.server.start()
    flood = [h.connect_raw("203.0.113.9") for _ in range(50)]
    assert sum(client is not None for _, client in flood) == 5
    refused = [sink for sink, client in flood if client is None]
    assert all(b"Too many connections from your address" in s.data for s in refused)
    h.connect("203.0.113.10").register("other")  # another address is not held up
    assert all(h.connect_raw("127.0.0.1")[1] is not None for _ in range(20))  # exempt
    h.clock.now += 10  # one token back
    kept = h.connect("203.0.113.9").register("slow")
    assert h.connect_raw("203.0.113.9")[1] is None
    # An address that held a connection for `known_after` is known: not rated.
    h.clock.now += 100
    h.server.disconnect(kept.client, "bye")
    assert all(h.connect_raw("203.0.113.9")[1] is not None for _ in range(10))
    # IPv6: one /64 is one source.
    v6 = [h.connect_raw(f"2001:db8:1:2::{i:x}")[1] for i in range(1, 10)]
    assert sum(c is not None for c in v6) == 5


def test_flood_exemption_by_mask(make_harness) -> None:
    h = make_harness(
        flood_rate=1, flood_burst=2, exempt=ExemptConfig(flood=parse_mask_item("127.0.0.1"))
    )
    fast = h.connect("127.0.0.1").register("fast")
    slow = h.connect("192.0.2.9").register("slow")
    assert fast.client.flood_exempt and not slow.client.flood_exempt
    fast.send(*[f"PING {i}" for i in range(50)])
    assert fast.commands().count("PONG") == 50
    slow.send(*[f"PING {i}" for i in range(50)])
    assert slow.commands().count("PONG") < 10


def test_zline_matches_ipv4_mapped_ipv6_clients(harness) -> None:
    op = oper(harness)
    op.send("ZLINE 198.51.100.0/24 :mapped")
    harness.settle()
    assert harness.connect_raw("::ffff:198.51.100.9")[1] is None


def test_a_line_dropping_too_many_users_needs_force(make_harness) -> None:
    h = make_harness(ban_max_share=0.25, sync=True)
    op = oper(h)
    users = [h.connect(f"198.51.100.{i}").register(f"u{i}") for i in range(1, 8)]
    op.take()
    op.send("KLINE *@198.51.100.* 1h :oops")  # 7 of 8 users
    [refused] = [m.params[1] for m in op.take()]
    assert refused == (
        "K-line on *@198.51.100.* refused: it would disconnect 7 of 8 users (87%, more than "
        "25%); add -force to set it anyway"
    )
    assert h.server.admission.xlines.lines("K") == []
    assert not any(u.sink.closed for u in users)
    op.send("KLINE *@198.51.100.1 1h :one user is always fine")
    h.settle()
    assert users[0].sink.closed
    op.send("ZLINE -force 198.51.100.0/24 1h :meant it")
    h.settle()
    assert all(u.sink.closed for u in users)
    assert [x.mask for x in h.server.admission.xlines.lines("Z")] == ["198.51.100.0/24"]


def audited(h) -> list[OperAction]:  # type: ignore[no-untyped-def]
    actions: list[OperAction] = []
    h.server.control = Control(audit=actions.append)
    return actions


def test_inspircd_removal_form_removes_and_never_makes_a_line_permanent(harness) -> None:
    actions = audited(harness)
    op = oper(harness, "op")
    for verb, mask in (("KLINE", "*@192.0.2.3"), ("GLINE", "bad@*"), ("ZLINE", "192.0.2.9")):
        kind = verb[0]
        op.send(f"{verb} {mask} 10m :timed")
        harness.settle()
        op.take()
        op.send(f"{verb} {mask}")  # InspIRCd: the mask alone removes the line
        harness.settle()
        notices = [m.params[1] for m in op.take()]
        assert notices == [
            f"*** XLINE: {kind}-line on {mask} removed by op (oper root)",
            f"{kind}-line on {mask} removed",
        ]
        assert harness.server.admission.xlines.lines(kind) == []
        op.send(f"STATS {kind.lower()}")
        assert [m.command for m in op.take()] == ["219"]
    assert [(a.action, a.result) for a in actions] == [
        ("KLINE *@192.0.2.3 10m: timed", "set, 0 disconnected"),
        ("KLINE *@192.0.2.3", "removed"),
        ("GLINE bad@* 10m: timed", "set, 0 disconnected"),
        ("GLINE bad@*", "removed"),
        ("ZLINE 192.0.2.9 10m: timed", "set, 0 disconnected"),
        ("ZLINE 192.0.2.9", "removed"),
    ]
    assert {(a.nick, a.oper, a.address) for a in actions} == {("op", "root", "203.0.113.1")}
    # With no line on the mask, the same form sets a permanent one.
    op.send("KLINE *@192.0.2.4")
    harness.settle()
    [line] = harness.server.admission.xlines.lines("K")
    assert (line.mask, line.expires, line.reason) == ("*@192.0.2.4", None, "No reason")


def test_unkline_answers_removed_and_is_audited(harness) -> None:
    actions = audited(harness)
    op = oper(harness, "op")
    op.send("KLINE *@192.0.2.5 1h :x")
    harness.settle()
    op.take()
    op.send("UNKLINE *@192.0.2.5", "UNKLINE *@192.0.2.5")
    harness.settle()
    assert [m.params[1] for m in op.take()] == [
        "*** XLINE: K-line on *@192.0.2.5 removed by op (oper root)",
        "K-line on *@192.0.2.5 removed",  # once the store has it
        "No K-line on *@192.0.2.5",
    ]
    assert [(a.action, a.result) for a in actions][1:] == [
        ("UNKLINE *@192.0.2.5", "removed"),
        ("UNKLINE *@192.0.2.5", "no such line"),
    ]


def test_solanum_order_is_understood_or_refused_with_one_usage_line(harness) -> None:
    actions = audited(harness)
    op = oper(harness, "op")
    op.send("KLINE 10m *@192.0.2.6 :solanum style", "GLINE 2h bad@* ")
    harness.settle()
    op.take()
    k = harness.server.admission.xlines.get("K", "*@192.0.2.6")
    g = harness.server.admission.xlines.get("G", "bad@*")
    assert k is not None and k.expires == k.set_at + 600 and k.reason == "solanum style"
    assert g is not None and g.expires == g.set_at + 7200 and g.reason == "No reason"
    op.send("KLINE 10m 5m :x", "ZLINE 10m")
    notices = [m.params[1] for m in op.take()]
    assert len(notices) == 2 and all(t.startswith("Usage: ") for t in notices)
    assert notices[1].startswith("Usage: ZLINE [-force] <ip|cidr|nick>")
    assert [(a.action, a.result) for a in actions][2:] == [
        ("KLINE 10m 5m x", "bad arguments"),
        ("ZLINE 10m", "bad arguments"),
    ]


def test_stats_lists_each_kind_with_its_numeric(harness) -> None:
    op = oper(harness, "op")
    op.send("KLINE *@192.0.2.7 :perm", "GLINE bad@* 1h :timed", "ZLINE 192.0.2.8 10m :z")
    harness.settle()
    op.take()
    rows = {}
    for letter in "kgz":
        op.send(f"STATS {letter}")
        got = op.take()
        assert got[-1].command == "219" and got[-1].params[1] == letter
        [row] = got[:-1]
        rows[letter] = (row.command, *row.params[1:])
    assert rows == {
        "k": ("216", "*@192.0.2.7", "1700000000", "0", "op", "perm"),
        "g": ("223", "bad@*", "1700000000", "3600", "op", "timed"),
        "z": ("223", "192.0.2.8", "1700000000", "600", "op", "z"),
    }


def test_resync_drops_only_the_lines_removed_from_the_store(harness) -> None:
    op = oper(harness, "op")
    op.send("KLINE *@192.0.2.10 1h :a", "KLINE *@192.0.2.11 1h :b")
    harness.settle()
    op.take()
    admission = harness.server.admission
    # A line in force whose write has not landed yet: never known stored, so it stays.
    pending = XLine(kind="Z", mask="192.0.2.12", reason="c", set_by="op", set_at=0)
    assert admission.xlines.add(pending)
    admission.store.lines.pop(("K", "*@192.0.2.10"))  # as `gateway bans remove` does
    task = harness.deferred.start(admission.resync())
    harness.settle()
    assert [x.mask for x in task.result()] == ["*@192.0.2.10"]
    assert sorted(x.mask for x in admission.xlines.lines()) == ["*@192.0.2.11", "192.0.2.12"]
    [notice] = [m.params[1] for m in op.take()]
    gone = "K-line on *@192.0.2.10 removed outside IRC (gone from the ban store)"
    assert notice == f"*** XLINE: {gone}"
    again = harness.deferred.start(admission.resync())
    harness.settle()
    assert again.result() == []


def test_a_shun_silences_without_disconnecting(harness) -> None:
    """SHUN as InspIRCd's: the user stays connected, every command but ADMIN, OPER,
    PING, PONG and QUIT is dropped with a notice; STATS H lists it; UNSHUN lifts it;
    it never keeps anyone out; operators are never silenced."""
    actions = audited(harness)
    op = oper(harness, "op")
    bob = harness.connect("192.0.2.60").register("bob")
    carol = harness.connect("192.0.2.61").register("carol")
    for c in (op, bob, carol):
        c.send("JOIN #c")
    for c in (op, bob, carol):
        c.take()
    op.send("SHUN bob 10m :calm down")
    harness.settle()
    notices = [m.params[1] for m in op.take()]
    assert notices[1].startswith(
        "*** XLINE: shun on *@192.0.2.60 (expires in 600 seconds) by op (oper root)"
    )
    assert "shun saved" in notices
    assert not bob.sink.closed
    bob.send("PRIVMSG #c :still here?", "NICK bobby", "PING :x")
    replies = bob.take()
    assert [m.params[-1] for m in replies if m.command == "NOTICE"] == [
        "*** Command PRIVMSG not processed, as you have been blocked from issuing commands.",
        "*** Command NICK not processed, as you have been blocked from issuing commands.",
    ]
    assert [m.command for m in replies if m.command != "NOTICE"] == ["PONG"]
    assert carol.take() == []
    op.send("PRIVMSG #c :operators are heard")
    assert carol.take()[0].params == ("#c", "operators are heard")
    late = harness.connect("192.0.2.60").register("late")  # a shun keeps nobody out
    late.send("PRIVMSG #c :hi")
    assert "not processed" in late.take()[0].params[-1]
    op.send("STATS H")
    [row, end] = op.take()
    assert (row.command, *row.params[1:]) == ("223", "*@192.0.2.60", "1700000000", "600",
                                             "op", "calm down")  # fmt: skip
    assert end.command == "219"
    op.send("UNSHUN *@192.0.2.60")
    harness.settle()
    assert [m.params[1] for m in op.take()][-1] == "shun on *@192.0.2.60 removed"
    bob.send("PRIVMSG #c :thanks")
    assert carol.take()[0].params == ("#c", "thanks")
    assert [(a.action, a.result) for a in actions] == [
        ("SHUN *@192.0.2.60 10m: calm down", "set, 1 silenced"),
        ("UNSHUN *@192.0.2.60", "removed"),
    ]
    assert harness.server.admission.xlines.shuns == 0


def test_a_shunned_user_leaves_without_a_last_word(harness) -> None:
    """InspIRCd's allowquitmsg="no": the QUIT reason of a shunned user is dropped, so a
    shun leaves no message in every channel on the way out."""
    op = oper(harness, "op")
    bob = harness.connect("192.0.2.70").register("bob")
    carol = harness.connect("192.0.2.71").register("carol")
    for c in (bob, carol):
        c.send("JOIN #c")
    carol.take()
    op.send("SHUN bob :quiet")
    harness.settle()
    bob.send("QUIT :buy my stuff at spam.example")
    quits = [m for m in carol.take() if m.command == "QUIT"]
    assert [m.params for m in quits] == [("Quit",)]


def test_a_line_over_the_operators_own_address_counts_only_the_others(make_harness) -> None:
    h = make_harness(sync=True)
    actions = audited(h)
    op = oper(h, "op")  # at 203.0.113.1
    neighbour = h.connect("203.0.113.1").register("neighbour")
    op.send("KLINE -force *@203.0.113.1 1h :the two of us")
    h.settle()
    assert neighbour.sink.closed and not op.sink.closed
    assert actions[-1].result == "set, 1 disconnected"
