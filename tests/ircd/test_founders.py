"""Channels founded per address (`ircd.founders`): hostile review, finding 5."""

from __future__ import annotations

from ircd.config import Limits
from tests.ircd.conftest import ListSink


def test_four_addresses_cannot_take_the_channel_table(make_harness) -> None:
    # The review's attack: 50 connections from 4 addresses, 20 channels each, held all
    # 1000 channels; anyone's JOIN of a new channel got 405.
    h = make_harness()
    limits = Limits()
    for i in range(50):
        c = h.connect(f"203.0.113.{i % 4 + 1}").register(f"chx{i}")
        c.send("JOIN " + ",".join(f"#x{i}_{j}" for j in range(20)))
        c.take()
    assert len(h.server.channels) == 4 * limits.max_channels_per_address < limits.max_channels
    legit = h.connect("198.51.100.7").register("legit")
    legit.send("JOIN #newchannel")
    assert legit.commands()[:1] == ["JOIN"]


def test_the_bound_counts_channels_that_still_exist(make_harness) -> None:
    h = make_harness(max_channels_per_address=3)
    a = h.connect("203.0.113.1").register("a")
    b = h.connect("203.0.113.1").register("b")  # same address, another client
    a.send("JOIN #a1,#a2")
    b.send("JOIN #b1")
    a.take(), b.take()
    b.send("JOIN #b2")
    (refused,) = b.take()
    assert refused.command == "405"
    assert refused.params[1:] == ("#b2", "Too many channels created from your address")
    b.send("JOIN #a1")  # joining a channel that exists costs nothing
    assert b.commands()[:1] == ["JOIN"]
    v6 = h.connect("2001:db8:1:2::1").register("v6")
    v6.send("JOIN #v6")  # another source founds its own
    assert v6.commands()[:1] == ["JOIN"]
    a.send("PART #a2")  # the channel ends with its last member: the place is back
    a.take()
    b.send("JOIN #b2")
    assert b.commands()[:1] == ["JOIN"]
    b.send("PART #a1")
    a.send("PART #a1")  # its last member: #a1 is gone too
    a.take(), b.take()
    assert h.server.founders.count("203.0.113.1") == 2  # #b1, #b2
    h.server.disconnect(b.client, "bye")
    assert h.server.founders.count("203.0.113.1") == 0
    assert len(h.server.founders) == 1  # #v6


def test_in_process_clients_are_not_counted(make_harness) -> None:
    h = make_harness(max_channels_per_address=2)
    radio = [
        h.server.attach(ListSink(), nick=f"N0CALL{i}", user="n0call", host="bpq.radio")
        for i in range(3)
    ]
    for i, client in enumerate(radio):
        h.server.receive(client, f"JOIN #r{i}a,#r{i}b\r\n".encode())
    assert len(h.server.channels) == 6  # all on the embedder's one address
    assert len(h.server.founders) == 0
    user = h.connect("127.0.0.1").register("user")  # the same address, over a socket
    user.send("JOIN #u1,#u2,#u3")
    assert user.commands().count("405") == 1
