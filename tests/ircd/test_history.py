"""History rings: the per-target size, the bound on targets, on messages and bytes in all;
client-only tags kept only when a replay needs them (live: a 4 KB tag never reaches a replay)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ircd.config import ConfigError, load_irc_config
from ircd.history import (
    ENTRY_BYTES,
    MAX_KEPT_TAG_BYTES,
    MAX_LIMIT,
    MAX_SIZE,
    Entry,
    History,
    cost,
)
from ircd.protocol import Message
from tests.ircd.conftest import LiveClient


def entry(i: int) -> Entry:
    return Entry(at=float(i), msgid=f"m{i}", message=Message(command="PRIVMSG", params=("#c", "x")))


def test_ring_keeps_the_last_size_messages() -> None:
    h = History(3)
    for i in range(10):
        h.add("#c", entry(i))
    assert [e.msgid for e in h.entries("#c")] == ["m7", "m8", "m9"]
    assert len(h) == 3


def test_least_recently_used_target_goes_first() -> None:
    h = History(5, max_targets=2)
    h.add("#a", entry(1))
    h.add("#b", entry(2))
    h.add("#a", entry(3))
    h.add("#c", entry(4))
    assert h.entries("#b") == [] and h.targets == 2
    assert [e.msgid for e in h.entries("#a")] == ["m1", "m3"]


def test_total_messages_are_bounded() -> None:
    h = History(4, max_targets=100, max_messages=10)
    for i in range(30):
        h.add(f"#{i % 6}", entry(i))
        assert len(h) <= 10
    assert len(h) == sum(len(h.entries(f"#{t}")) for t in range(6))


def test_configure_shrinks_at_once() -> None:
    h = History(10)
    for i in range(50):
        h.add(f"#{i % 5}", entry(i))
    h.configure(2, max_targets=3, max_messages=1000)
    assert h.targets == 3 and len(h) == 6
    h.configure(0, max_targets=3, max_messages=1000)
    assert h.targets == 0 and len(h) == 0
    h.add("#a", entry(1))
    assert len(h) == 0


def test_history_size_is_capped_in_config(tmp_path: Path) -> None:
    path = tmp_path / "irc.yaml"
    path.write_text(f"irc:\n  history_size: {MAX_SIZE + 1}\n")
    with pytest.raises(ConfigError) as info:
        load_irc_config(path)
    assert "irc.history_size: expected an integer 0-1000" in str(info.value)
    path.write_text("irc:\n  history_size: 1000\n  limits: {history_targets: 50}\n")
    assert load_irc_config(path).limits.history_targets == 50


def tagged(i: int, tags: dict[str, str], text: str = "x") -> Entry:
    msg = Message(command="PRIVMSG", params=("#c", text), tags={"msgid": f"m{i}", **tags})
    return Entry(at=float(i), msgid=f"m{i}", message=msg)


def test_only_client_tags_a_replay_needs_are_kept() -> None:
    h = History(10)
    h.add("#c", tagged(1, {"+a": "y" * 4000, "+draft/reply": "m0", "account": "n0test"}))
    h.add("#c", tagged(2, {"+typing": "active", "+draft/channel-context": "#c"}))
    first, second = (e.message.tags for e in h.entries("#c"))
    assert first == {"msgid": "m1", "account": "n0test", "+draft/reply": "m0"}
    assert second == {"msgid": "m2", "+draft/channel-context": "#c"}


def test_kept_client_tags_over_the_cap_are_all_dropped() -> None:
    h = History(10)
    h.add("#c", tagged(1, {"+draft/reply": "r" * MAX_KEPT_TAG_BYTES, "+reply": "m0"}))
    h.add("#c", tagged(2, {"+draft/reply": "r" * (MAX_KEPT_TAG_BYTES - 20)}))
    assert h.entries("#c")[0].message.tags == {"msgid": "m1"}
    assert "+draft/reply" in h.entries("#c")[1].message.tags


def test_rings_and_the_whole_history_are_bounded_by_bytes() -> None:
    long_text = "\u00e9" * 250  # 500 bytes of UTF-8
    h = History(100, max_targets=1000, max_messages=MAX_SIZE)
    for i in range(3000):
        h.add(f"#{i % 7}", tagged(i, {"+draft/reply": "r" * 400}, long_text))
        assert h.bytes <= h.max_bytes == MAX_SIZE * ENTRY_BYTES
        for t in range(7):
            assert sum(e.cost for e in h.entries(f"#{t}")) <= 100 * ENTRY_BYTES
    assert h.bytes == sum(e.cost for t in range(7) for e in h.entries(f"#{t}"))
    # Long entries: a ring keeps fewer than its size, the whole fewer than its count.
    assert all(len(h.entries(f"#{t}")) < 100 for t in range(7)) and len(h) < MAX_SIZE


def test_cost_counts_utf8_bytes_and_the_objects() -> None:
    short = tagged(1, {}, "x").message
    assert cost(tagged(1, {}, "\u00e9" * 10).message) == cost(short) + 19
    assert cost(short) > 600


def test_removing_a_message_gives_its_bytes_back() -> None:
    h = History(10)
    h.add("#c", tagged(1, {}))
    h.add("#c", tagged(2, {}))
    before = h.bytes
    assert h.remove("#c", "m1") and h.bytes == before // 2


async def _tagged_client(port: int, nick: str) -> LiveClient:
    c = await LiveClient.connect(port)
    await c.send("CAP REQ :message-tags draft/chathistory batch server-time")
    await c.send(f"NICK {nick}", f"USER {nick} 0 * :{nick}", "CAP END")
    await c.expect("001")
    await c.expect("376", "422")
    return c


async def test_a_big_client_tag_goes_live_but_not_into_a_replay(live_server) -> None:
    alice = await _tagged_client(live_server.port, "alice")
    bob = await _tagged_client(live_server.port, "bob")
    for c in (alice, bob):
        await c.send("JOIN #ham")
        await c.expect("366")
    big = "y" * 4000
    await alice.send(f"@+a={big};+draft/reply=abc PRIVMSG #ham :hello")
    live = await bob.expect("PRIVMSG")
    assert live.tags["+a"] == big and live.tags["+draft/reply"] == "abc"
    await bob.send("CHATHISTORY LATEST #ham * 10")
    replayed = await bob.expect("PRIVMSG")
    assert replayed.params == ("#ham", "hello") and replayed.tags["msgid"] == live.tags["msgid"]
    assert "+a" not in replayed.tags and replayed.tags["+draft/reply"] == "abc"
    await alice.close()
    await bob.close()


async def test_a_replay_of_big_tagged_lines_stays_under_the_sendq(start_live_server) -> None:
    # Default sendq (256 KiB); flood control off only to send the 100 lines at once.
    server = start_live_server("limits: {flood_rate: 0}\n")
    spammer = await _tagged_client(server.port, "spammer")
    await spammer.send("JOIN #ham")
    await spammer.expect("366")
    tag = "@+a=" + "x" * 4000
    await spammer.send(*(f"{tag} PRIVMSG #ham :m{k}" for k in range(MAX_LIMIT)), "PING :sent")
    await spammer.expect("PONG")
    reader = await _tagged_client(server.port, "reader")
    await reader.send("JOIN #ham")
    await reader.expect("366")
    await reader.send(f"CHATHISTORY LATEST #ham * {MAX_LIMIT}", "PING :after")
    got = []
    while (msg := await reader.expect("PRIVMSG", "PONG", "ERROR")).command == "PRIVMSG":
        got.append(msg.params[1])
    assert msg.command == "PONG", msg  # not "ERROR :Closing link (SendQ exceeded)"
    assert got == [f"m{k}" for k in range(MAX_LIMIT)]
    await spammer.close()
    await reader.close()
