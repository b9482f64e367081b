"""Mail passed between gateways, in the real SQLite store (gateway/relaystore.py): kept
across a restart and bounded at the passing gateway; held once at the receiving one."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import chatstore, relaystore
from gateway.config import Config
from gateway.store import Store

T0 = 1_800_000_000.0


def row(n: int, at: float = T0) -> relaystore.Row:
    return relaystore.Row(f"{n:016x}", at, "N0BBB", "alice!a@h", "", "PRIVMSG", f"m{n}")


def test_kept_mail_survives_a_restart_until_forgotten(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path / "data")
    store = Store.open(config)
    assert relaystore.keep(store, row(1), 50) == relaystore.keep(store, row(2, T0 + 1), 50) == ""
    relaystore.answered(store, row(1).id, frozenset({"w2gwmail", "k3gwmail"}))
    store.close()
    store = Store.open(config)
    kept = relaystore.kept(store)
    assert [r.text for r in kept] == ["m1", "m2"]
    assert kept[0].answered == {"w2gwmail", "k3gwmail"} and kept[1].answered == frozenset()
    relaystore.forget(store, row(1).id)
    assert [r.id for r in relaystore.kept(store)] == [row(2).id]
    store.close()


def test_kept_mail_is_bounded(tmp_path: Path) -> None:
    store = Store.open(Config(data_dir=tmp_path / "data"))
    assert [relaystore.keep(store, row(n), 50, bound=3) for n in range(3)] == ["", "", ""]
    assert relaystore.keep(store, row(9), 50, bound=3) == relaystore.BUSY
    assert relaystore.room(store, "N0ZZZ", 50, bound=3) == relaystore.BUSY  # whoever for
    assert len(relaystore.kept(store)) == 3
    # Per callsign: no more than its mailbox would hold.
    assert relaystore.room(store, "N0BBB", 3) == relaystore.keep(store, row(7), 3) == "full"
    assert relaystore.room(store, "N0ZZZ", 3) == ""
    store.close()


def test_a_resend_is_held_once_even_after_a_restart(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path / "data")
    store = Store.open(config)
    take = ("0123456789abcdef", chatstore.Letter("N0BBB", "alice", "PRIVMSG", "hello"), T0, 50)
    assert relaystore.take(store, *take) == 1
    store.close()
    store = Store.open(config)
    assert relaystore.take(store, *take) is None
    assert [m.text for m in chatstore.read_mail(store, "N0BBB")] == ["hello"]
    # A full mailbox notes nothing: the message may be held when sent again.
    with pytest.raises(chatstore.MailboxFull):
        relaystore.take(
            store, "fedcba9876543210", chatstore.Letter("N0BBB", "bob", "PRIVMSG", "x"), T0, 1
        )
    assert (
        relaystore.take(
            store, "fedcba9876543210", chatstore.Letter("N0BBB", "bob", "PRIVMSG", "x"), T0, 2
        )
        == 2
    )
    store.close()


def test_held_ids_are_bounded_and_expire(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relaystore, "SEEN_MAX", 3)
    store = Store.open(Config(data_dir=tmp_path / "data"))
    for n in range(5):
        relaystore.take(
            store, f"{n:016x}", chatstore.Letter("N0BBB", "a", "PRIVMSG", f"m{n}"), T0 + n, 50
        )
    seen = [r[0] for r in store.db.execute("SELECT id FROM relay_seen ORDER BY at")]
    assert seen == [f"{n:016x}" for n in (2, 3, 4)]
    relaystore.prune(store, T0 + 100, 96.5)  # the mailbox's age, but within the margin
    assert len(store.db.execute("SELECT id FROM relay_seen").fetchall()) == 3
    relaystore.prune(store, T0 + 100 + relaystore.SEEN_MARGIN, 96.5)  # past the margin
    assert [r[0] for r in store.db.execute("SELECT id FROM relay_seen")] == [f"{4:016x}"]
    store.close()


def test_held_mail_remembers_the_gateway_that_passed_it_on(tmp_path: Path) -> None:
    store = Store.open(Config(data_dir=tmp_path / "data"))
    passed = chatstore.Letter("N0BBB", "alice", "PRIVMSG", "x", via="W2GWmail")
    relaystore.take(store, "0123456789abcdef", passed, T0, 50)
    chatstore.hold_mail(store, chatstore.Letter("N0BBB", "bob", "PRIVMSG", "y"), T0, 50)
    expired = chatstore.prune_chat(store, T0 + 31 * 86400, 30 * 86400, 90 * 86400)
    assert sorted(expired, key=str) == [("N0BBB", "alice", T0, "W2GWmail"),
                                        ("N0BBB", "bob", T0, None)]  # fmt: skip
    store.close()
