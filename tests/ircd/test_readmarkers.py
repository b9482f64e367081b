"""draft/read-marker: MARKREAD get and set, shared by an account's clients, sent on JOIN."""

from __future__ import annotations

from ircd.notify import mark_read
from ircd.readmarkers import MAX_OWNERS, MAX_PER_OWNER, ReadMarkers
from tests.ircd.conftest import Harness

CAP = "draft/read-marker"
T1 = "2023-11-14T22:13:00.000Z"  # before the harness's wall clock (1,700,000,000)
T2 = "2023-11-14T22:13:10.000Z"


def logged_in(h: Harness, nick: str, account: str, *caps: str):  # type: ignore[no-untyped-def]
    c = h.user(nick, *caps)
    c.client.account = account
    return c


def test_markread_get_set_and_forward_only(harness: Harness) -> None:
    a = harness.user("alice", CAP)
    a.send("MARKREAD #c")
    assert a.take()[0].params == ("#c", "*")
    a.send(f"MARKREAD #c timestamp={T2}", f"MARKREAD #c timestamp={T1}", "MARKREAD #C")
    assert [m.params for m in a.take()] == [
        ("#c", f"timestamp={T2}"),
        ("#c", f"timestamp={T2}"),  # older than stored: the stored value, unchanged
        ("#C", f"timestamp={T2}"),  # targets fold like nicks and channels
    ]
    a.send("MARKREAD #c timestamp=2999-01-01T00:00:00.000Z")  # clamped to now
    assert a.take()[0].params == ("#c", "timestamp=2023-11-14T22:13:20.000Z")


def test_markread_errors(harness: Harness) -> None:
    a = harness.user("alice", CAP, "standard-replies")
    a.send("MARKREAD", "MARKREAD #c yesterday", "MARKREAD bad,target")
    assert [m.params[:2] for m in a.take()] == [
        ("MARKREAD", "NEED_MORE_PARAMS"),
        ("MARKREAD", "INVALID_PARAMS"),
        ("MARKREAD", "INVALID_PARAMS"),
    ]


def test_clients_of_one_account_share_markers_and_join_sends_it(harness: Harness) -> None:
    laptop = logged_in(harness, "k1abc", "K1ABC", CAP)
    phone = logged_in(harness, "k1abc_", "K1ABC", CAP)
    stranger = logged_in(harness, "other", "OTHER", CAP)
    laptop.send(f"MARKREAD #c timestamp={T1}")
    assert laptop.take()[0].params == ("#c", f"timestamp={T1}")
    assert phone.take()[0].params == ("#c", f"timestamp={T1}")
    assert stranger.take() == []  # never disclosed to other users
    phone.send("JOIN #c")
    assert [m.command for m in phone.take()] == ["JOIN", "MARKREAD", "353", "366"]
    stranger.send("JOIN #c")
    got = stranger.take()
    assert got[1].command == "MARKREAD" and got[1].params == ("#c", "*")


def test_the_embedder_marks_read_for_an_account(harness: Harness) -> None:
    irc = logged_in(harness, "k1abc", "K1ABC", CAP)
    # e.g. the radio user read their messages over the air: their IRC client hears of it.
    mark_read(harness.server, "k1abc", "#c", 1_699_999_990.0)
    assert irc.take()[0].params == ("#c", f"timestamp={T2}")
    mark_read(harness.server, "K1ABC", "#c", 1_699_999_980.0)  # older: nothing
    assert irc.take() == []


def test_markers_are_bounded() -> None:
    markers = ReadMarkers()
    for i in range(MAX_PER_OWNER + 5):
        markers.advance("a:x", f"#{i}", float(i))
    assert len(markers) == MAX_PER_OWNER and markers.get("a:x", "#0") is None
    for i in range(MAX_OWNERS + 5):
        markers.advance(f"c:{i}", "#c", 1.0)
    assert markers.get("a:x", "#9") is None  # the least recently used owner went first


def test_a_client_without_account_loses_its_markers_on_quit(harness: Harness) -> None:
    a = harness.user("alice", CAP)
    a.send(f"MARKREAD #c timestamp={T1}")
    assert len(harness.server.read_markers) == 1
    a.send("QUIT")
    assert len(harness.server.read_markers) == 0
