"""INVITE with no parameter lists one's invitations; an invitation lets in past +l.

Modern IRC (https://modern.ircdocs.horse/#invite-message):

    "Servers MAY allow the INVITE with no parameter, and reply with a list of channels
    the sender is invited to as RPL_INVITELIST (336) numerics, ending with a
    RPL_ENDOFINVITELIST (337) numeric."

    RPL_INVITELIST (336)       "<client> <channel>"
    RPL_ENDOFINVITELIST (337)  "<client> :End of /INVITE list"

The +I list keeps 346/347 (RPL_INVEXLIST, RPL_ENDOFINVEXLIST), as on UnrealIRCd and Ergo.
"""

from __future__ import annotations

from tests.ircd.conftest import CoreClient, Harness


def params(client: CoreClient) -> list[tuple[str, tuple[str, ...]]]:
    return [(m.command, m.params) for m in client.take()]


def test_invite_with_no_parameter_lists_invitations(harness: Harness) -> None:
    op = harness.user("Angel")
    wiz = harness.user("Wiz")
    op.send("JOIN #Dust", "JOIN #Twilight_Zone", "JOIN #plain")
    op.take()
    wiz.send("INVITE")
    assert params(wiz) == [("337", ("Wiz", "End of /INVITE list"))]
    # RFC 1459's examples: "INVITE Wiz #Twilight_Zone", then #Dust.
    op.send("INVITE Wiz #Twilight_Zone", "INVITE Wiz #Dust")
    assert [m.command for m in op.take()] == ["341", "341"]
    wiz.take()
    wiz.send("INVITE")
    got = params(wiz)
    assert sorted(got[:-1]) == [("336", ("Wiz", "#Dust")), ("336", ("Wiz", "#Twilight_Zone"))]
    assert got[-1] == ("337", ("Wiz", "End of /INVITE list"))
    # Joining uses an invitation up: it leaves the list.
    wiz.send("JOIN #dust")
    wiz.take()
    wiz.send("INVITE")
    assert params(wiz) == [
        ("336", ("Wiz", "#Twilight_Zone")),
        ("337", ("Wiz", "End of /INVITE list")),
    ]
    # Nobody else sees them: the list is the sender's own.
    op.take()
    op.send("INVITE")
    assert params(op) == [("337", ("Angel", "End of /INVITE list"))]


def test_invite_with_one_parameter_needs_more(harness: Harness) -> None:
    c = harness.user("alice")
    c.send("INVITE bob")
    assert params(c) == [("461", ("alice", "INVITE", "Not enough parameters"))]


def test_an_invited_user_joins_a_full_channel(harness: Harness) -> None:
    """irctest's INVITE_OVERRIDES_LIMIT behaviour (InspIRCd, Ergo): +l 1, a second user
    is refused with 471 until invited, and the invitation is used up by the join."""
    op = harness.user("op")
    guest = harness.user("guest")
    op.send("JOIN #full", "MODE #full +l 1")
    op.take()
    guest.send("JOIN #full")
    assert params(guest) == [("471", ("guest", "#full", "Cannot join channel (+l)"))]
    op.send("INVITE guest #full")
    assert [m.command for m in op.take()] == ["341"]
    guest.take()
    guest.send("JOIN #full")
    assert guest.take()[0].command == "JOIN"
    assert len(harness.server.find_channel("#full").members) == 2  # type: ignore[union-attr]
    guest.send("PART #full", "JOIN #full")
    assert [m.command for m in guest.take()] == ["PART", "471"]


def test_invite_exception_still_stops_at_the_limit(harness: Harness) -> None:
    """+I lets in past +i, not past +l: only an invitation does both."""
    op = harness.user("op")
    guest = harness.user("guest")
    op.send("JOIN #c", "MODE #c +il 1", "MODE #c +I guest")
    op.take()
    guest.send("JOIN #c")
    assert [m.command for m in guest.take()] == ["471"]
    op.send("MODE #c I")
    assert [m.command for m in op.take()] == ["346", "347"]
