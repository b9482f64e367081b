"""The bridge's tables in the real SQLite store: mailbox bounds, expiry, archive markers."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import chatstore, prefs
from gateway.config import Config
from gateway.store import Store

T0 = 1_800_000_000.0
DAY = 86400.0


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path / "data")


@pytest.fixture
def store(config: Config):
    store = Store.open(config)
    yield store
    store.close()


def test_mailbox_numbers_read_marks_kill_and_bound(store: Store) -> None:
    for i, sender in enumerate(("alice", "bob", "carol")):
        assert (
            chatstore.hold_mail(
                store, chatstore.Letter("N0TEST", sender, "PRIVMSG", f"m{i}"), T0 + i, 3
            )
            == i + 1
        )
    with pytest.raises(chatstore.MailboxFull):
        chatstore.hold_mail(
            store, chatstore.Letter("N0TEST", "dave", "PRIVMSG", "one too many"), T0, 3
        )
    assert chatstore.count_unread(store, "N0TEST") == 3
    assert [m.text for m in chatstore.read_mail(store, "N0TEST")] == ["m0", "m1", "m2"]
    assert chatstore.count_unread(store, "N0TEST") == 0
    # Nothing unread: /READ lists what is kept; /READ n shows one.
    assert len(chatstore.read_mail(store, "N0TEST")) == 3
    assert [m.text for m in chatstore.read_mail(store, "N0TEST", 2)] == ["m1"]
    assert chatstore.kill_mail(store, "N0TEST", 2) and not chatstore.kill_mail(store, "N0TEST", 2)
    assert (
        chatstore.hold_mail(store, chatstore.Letter("N0TEST", "bob", "NOTICE", "new"), T0, 3) == 4
    )
    assert [m.n for m in chatstore.read_mail(store, "N0TEST")] == [4]


def test_expired_unread_mail_names_its_sender(store: Store) -> None:
    chatstore.hold_mail(store, chatstore.Letter("N0TEST", "alice", "PRIVMSG", "old"), T0, 50)
    chatstore.hold_mail(
        store, chatstore.Letter("N0TEST", "bob", "PRIVMSG", "newer"), T0 + 20 * DAY, 50
    )
    expired = chatstore.prune_chat(store, T0 + 31 * DAY, 30 * DAY, 90 * DAY)
    assert expired == [("N0TEST", "alice", T0, None)]
    assert [m.text for m in chatstore.read_mail(store, "N0TEST")] == ["newer"]


def test_archive_markers_per_callsign_and_bound(store: Store, config: Config) -> None:
    for i in range(1, 8):
        chatstore.archive_add(store, "#news", "alice", "PRIVMSG", f"item {i}", T0 + i, 5)
    # Only the newest 5 are kept; numbers are never reused.
    assert [a.n for a in chatstore.archive_latest(store, "#news", 10)] == [3, 4, 5, 6, 7]
    assert chatstore.archive_new(store, "N0TEST", ["#news"]) == [("#news", 5)]
    first = chatstore.archive_read(store, "N0TEST", "#news", None, 2)
    assert [a.n for a in first] == [3, 4]
    assert chatstore.archive_new(store, "N0TEST", ["#news"]) == [("#news", 3)]
    assert chatstore.archive_new(store, "K1ABC", ["#news"]) == [("#news", 5)]  # their own
    # Reading from an older number does not move the marker back.
    assert [a.n for a in chatstore.archive_read(store, "N0TEST", "#news", 3, 1)] == [3]
    assert chatstore.archive_new(store, "N0TEST", ["#news"]) == [("#news", 3)]
    # Reading ahead leaves the unread ones before it unread.
    assert [a.n for a in chatstore.archive_read(store, "N0TEST", "#news", 7, 1)] == [7]
    assert chatstore.archive_new(store, "N0TEST", ["#news"]) == [("#news", 3)]
    store.close()
    reopened = Store.open(config)  # markers survive a restart
    try:
        assert [a.n for a in chatstore.archive_read(reopened, "N0TEST", "#news", None, 9)] == [
            5, 6, 7,
        ]  # fmt: skip
        chatstore.archive_add(reopened, "#news", "bob", "PRIVMSG", "item 8", T0 + 8, 5)
        assert chatstore.archive_new(reopened, "N0TEST", ["#news"]) == [("#news", 1)]
    finally:
        reopened.close()


def test_user_prefs_are_kept_per_callsign_and_go_with_it(store: Store) -> None:
    prefs.save(store, "N0TEST", "stamp", 1)
    prefs.save(store, "N0TEST", "history", 8)
    prefs.save(store, "N0TEST", "history", 2)
    prefs.save(store, "N0TEST", "shownames", 1)
    assert prefs.load(store, "N0TEST") == {"stamp": 1, "history": 2, "shownames": 1}
    assert prefs.load(store, "K1ABC") == {}
    with pytest.raises(ValueError):
        prefs.save(store, "N0TEST", "anything", 1)
    with store.transaction():
        store.delete_user("N0TEST")
    assert prefs.load(store, "N0TEST") == {}


def test_mail_keeps_the_senders_account_and_old_stores_migrate(config: Config) -> None:
    import sqlite3

    store = Store.open(config)
    chatstore.hold_mail(store, chatstore.Letter("N0TEST", "N0TEST", "PRIVMSG", "before"), T0, 50)
    store.close()
    # A store from before the column: its mail reads as "account not kept" (None).
    conn = sqlite3.connect(config.database_path)
    conn.execute("ALTER TABLE mailbox DROP COLUMN account")
    conn.commit()
    conn.close()
    store = Store.open(config)
    try:
        chatstore.hold_mail(
            store, chatstore.Letter("N0TEST", "NOTEST", "PRIVMSG", "fake", "K9EVIL"), T0 + 1, 50
        )
        chatstore.hold_mail(
            store, chatstore.Letter("N0TEST", "alice", "PRIVMSG", "anon", ""), T0 + 2, 50
        )
        mail = chatstore.read_mail(store, "N0TEST")
        assert [(m.sender, m.account) for m in mail] == [
            ("N0TEST", None),
            ("NOTEST", "K9EVIL"),
            ("alice", ""),
        ]
    finally:
        store.close()


def test_one_sender_holds_at_most_its_share_of_a_mailbox(store: Store) -> None:
    """One account (or, without one, one nick) cannot fill a ham's mailbox and refuse
    everyone else for the mailbox's age (airtime review, finding 2)."""
    share = chatstore.sender_share(50)
    assert share == 10
    for i in range(share):
        letter = chatstore.Letter("N0TEST", f"evil{i}", "PRIVMSG", "x", account="K1EVL")
        chatstore.hold_mail(store, letter, T0, 50)
    with pytest.raises(chatstore.SenderShareFull):  # another nick, the same account
        chatstore.hold_mail(
            store, chatstore.Letter("N0TEST", "evil", "PRIVMSG", "x", account="k1evl"), T0, 50
        )
    for i in range(share):  # no account: counted by nick, in any case
        nick = "Alice" if i % 2 else "alice"
        chatstore.hold_mail(store, chatstore.Letter("N0TEST", nick, "PRIVMSG", "y"), T0, 50)
    with pytest.raises(chatstore.SenderShareFull):
        chatstore.hold_mail(store, chatstore.Letter("N0TEST", "ALICE", "PRIVMSG", "y"), T0, 50)
    # Others still get in, and another mailbox is another share.
    chatstore.hold_mail(store, chatstore.Letter("N0TEST", "bob", "PRIVMSG", "z"), T0, 50)
    chatstore.hold_mail(store, chatstore.Letter("K2ABC", "x", "PRIVMSG", "z", "K1EVL"), T0, 50)
    # The owner's own notes to self are not counted against a share.
    for i in range(share + 1):
        mine = chatstore.Letter("K2ABC", "K2ABC-5", "PRIVMSG", f"note {i}", "K2ABC")
        chatstore.hold_mail(store, mine, T0, 50)
