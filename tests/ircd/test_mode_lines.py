"""MODE lines the server sends fit in 512 bytes, source prefix and CRLF counted.

The changes one MODE command applies can make a longer line than the command itself
(the server adds `:nick!user@host`, masks grow when normalized: `x@h` -> `*!x@h`);
they go out over as many MODE lines as needed, in order, each a complete set of
(sign, letter, argument), as on InspIRCd and Ergo.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ircd.chanlists import MAX_MASK_LEN, normalize_mask
from ircd.isupport import MAX_MODES
from ircd.modelines import mode_messages
from ircd.protocol import MAX_BODY, Message, parse_line

from .conftest import CoreClient, Harness

#: A source and a channel as long as the limits allow: nick 64 (`nicklen` at most),
#: user 16 (`USERLEN`), host 64 (`HOSTLEN`), channel 64 (`channellen` at most).
LONG_PREFIX = "n" * 64 + "!~" + "u" * 15 + "@" + "h" * 64
LONG_CHANNEL = "#" + "c" * 63


def mode_lines(client: CoreClient) -> list[bytes]:
    """The raw MODE lines received since the last take (CRLF included)."""
    raw = bytes(client.sink.data)
    client.sink.data.clear()
    lines = [line + b"\r\n" for line in raw.split(b"\r\n") if line]
    return [line for line in lines if line.split(b" ")[1] == b"MODE"]


def changes_of(lines: list[bytes]) -> list[tuple[str, str, str | None]]:
    """Each line parsed back to (sign, letter, argument), in order. Every line must say
    its own sign first: a line that is a complete set of changes on its own."""
    changes: list[tuple[str, str, str | None]] = []
    for line in lines:
        msg = parse_line(line[:-2])
        letters, args = msg.params[1], list(msg.params[2:])
        assert letters[0] in "+-", line
        sign = "+"
        for letter in letters:
            if letter in "+-":
                sign = letter
                continue
            takes = letter in "beIov" or letter == "k" or (letter == "l" and sign == "+")
            changes.append((sign, letter, args.pop(0) if takes else None))
        assert not args, line
    return changes


def two_in(harness: Harness) -> tuple[CoreClient, CoreClient]:
    alice, bob = harness.user("alice"), harness.user("bob")
    alice.send("JOIN #c")
    bob.send("JOIN #c")
    alice.take()
    bob.take()
    return alice, bob


def test_long_ban_masks_reach_every_member_whole(harness: Harness) -> None:
    alice, bob = two_in(harness)
    # 4 masks of 120 characters: a 498-byte command, a longer MODE once the prefix is
    # added and each mask is normalized (`u@h` -> `*!u@h`).
    masks = [f"{i}{'x' * 100}@host{i}.{'y' * 12}" for i in range(MAX_MODES)]
    command = f"MODE #c +{'b' * MAX_MODES} {' '.join(masks)}"
    assert len(command) <= MAX_BODY - 2
    alice.send(command)
    expected = [("+", "b", f"*!{m}") for m in masks]
    assert [e.mask for e in harness.server.find_channel("#c").lists.entries("b")] == [
        m for _, _, m in expected
    ]
    for member in (alice, bob):
        lines = mode_lines(member)
        assert len(lines) > 1
        assert all(len(line) <= MAX_BODY for line in lines), [len(x) for x in lines]
        assert all(line.startswith(b":alice!~alice@192.0.2.1 MODE #c +") for line in lines)
        assert changes_of(lines) == expected


def test_a_labeled_mode_gets_its_lines_in_one_batch(harness: Harness) -> None:
    alice = harness.user("alice", "labeled-response", "batch")
    alice.send("JOIN #c")
    alice.take()
    masks = [f"{i}{'x' * 100}@host{i}.{'y' * 12}" for i in range(MAX_MODES)]
    alice.send(f"@label=L1 MODE #c +{'b' * MAX_MODES} {' '.join(masks)}")
    got = alice.take()
    assert [(m.command, m.tags.get("label")) for m in got] == [("BATCH", "L1")] + [
        ("MODE", None)
    ] * (len(got) - 2) + [("BATCH", None)]
    assert len(got) > 3 and all(m.tags["batch"] == got[0].params[0][1:] for m in got[1:-1])


def test_a_long_run_of_flag_changes_reaches_every_member_whole(harness: Harness) -> None:
    alice, bob = two_in(harness)
    alice.send("MODE #c " + "+i-i" * 120 + "+mk key")
    expected = [(s, "i", None) for _ in range(120) for s in "+-"]
    expected += [("+", "m", None), ("+", "k", "key")]
    for member in (alice, bob):
        lines = mode_lines(member)
        assert len(lines) == 2
        assert all(len(line) <= MAX_BODY for line in lines)
        assert changes_of(lines) == expected
    channel = harness.server.find_channel("#c")
    assert "m" in channel.modes and "i" not in channel.modes and channel.key == "key"


def test_a_long_run_of_user_mode_changes_is_echoed_whole(make_harness) -> None:  # type: ignore[no-untyped-def]
    harness = make_harness(nicklen=30)
    nick = "n" * 30
    me = harness.user(nick)
    me.send(f"MODE {nick} " + "+w-w" * 115 + "+i")
    lines = mode_lines(me)
    assert len(lines) == 2
    assert all(len(line) <= MAX_BODY for line in lines)
    assert changes_of(lines) == [(s, "w", None) for _ in range(115) for s in "+-"] + [
        ("+", "i", None)
    ]
    assert {"i"} <= me.client.modes and "w" not in me.client.modes


def test_a_short_change_stays_one_line(harness: Harness) -> None:
    alice, bob = two_in(harness)
    alice.send("MODE #c +ov-t+b bob bob x@y")
    [line] = mode_lines(bob)
    assert line == b":alice!~alice@192.0.2.1 MODE #c +ov-t+b bob bob *!x@y\r\n"


def lines_of(messages: list[Message]) -> list[bytes]:
    return [m.to_bytes() for m in messages]


#: Arguments as long as the server takes: masks of MAX_MASK_LEN bytes and the 4 that
#: normalizing adds (keys and nicks are shorter), in ASCII or in 2-byte characters;
#: none starts with ':' (the server refuses such masks and keys).
_ARG = st.one_of(
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=204),
    st.text(st.characters(min_codepoint=0x80, max_codepoint=0x7FF), min_size=1, max_size=102),
).filter(lambda arg: arg[0] != ":")
_CHANGE = st.one_of(
    st.tuples(st.sampled_from("+-"), st.sampled_from("imnst"), st.none()),
    st.tuples(st.sampled_from("+-"), st.sampled_from("beIov"), _ARG),
)


@given(st.lists(_CHANGE, max_size=300))
def test_any_changes_split_into_whole_lines_under_the_limit(
    changes: list[tuple[str, str, str | None]],
) -> None:
    messages = mode_messages(LONG_PREFIX, LONG_CHANNEL, changes, {})
    lines = lines_of(messages)
    assert all(len(line) <= MAX_BODY for line in lines)
    assert all(len(m.params) - 2 <= MAX_MODES for m in messages)  # ISUPPORT MODES
    assert changes_of(lines) == changes


def test_the_longest_mask_fits_a_line_from_the_longest_source() -> None:
    mask = normalize_mask("x" * MAX_MASK_LEN)
    assert mask is not None and len(mask) == MAX_MASK_LEN + 4
    [line] = lines_of(mode_messages(LONG_PREFIX, LONG_CHANNEL, [("+", "b", mask)], {}))
    assert len(line) <= MAX_BODY


def test_a_mask_is_bounded_in_bytes_not_characters(harness: Harness) -> None:
    alice, _ = two_in(harness)
    wide = "\u00e9" * (MAX_MASK_LEN // 2 + 1)  # fewer characters than the bound, more bytes
    alice.send(f"MODE #c +b {wide}")
    assert [(m.command, m.params[2:4]) for m in alice.take()] == [("696", ("b", wide))]
    alice.send(f"MODE #c +b {wide[1:]}")
    assert changes_of(mode_lines(alice)) == [("+", "b", f"{wide[1:]}!*@*")]


async def test_long_ban_masks_over_real_sockets(live_server, live_client) -> None:  # type: ignore[no-untyped-def]
    alice = await (await live_client(live_server.port)).register("alice")
    bob = await (await live_client(live_server.port)).register("bob")
    await alice.send("JOIN #c")
    await alice.expect("366")
    await bob.send("JOIN #c")
    await bob.expect("366")
    masks = [f"{i}{'x' * 100}@host{i}.{'y' * 12}" for i in range(MAX_MODES)]
    await alice.send(f"MODE #c +{'b' * MAX_MODES} {' '.join(masks)}")
    seen: list[str] = []
    while len(seen) < len(masks):  # the reader refuses a line over 512 bytes
        msg = await bob.expect("MODE")
        assert msg.params[1] == "+" + "b" * (len(msg.params) - 2)
        seen += msg.params[2:]
    assert seen == [f"*!{m}" for m in masks]
    await alice.close()
    await bob.close()


def test_list_replies_fit_a_line_with_the_longest_names(make_harness) -> None:  # type: ignore[no-untyped-def]
    # 367 carries the channel, the mask and who set it: with nicklen and channellen at
    # their most, the setter's full prefix would pass 512 bytes; its nick alone then.
    harness = make_harness(nicklen=64, channellen=64, server_name="irc." + "s" * 80 + ".test")
    nick = "n" * 64
    op = harness.user(nick)
    op.send(f"JOIN {LONG_CHANNEL}")
    mask = "*!*@" + "m" * (MAX_MASK_LEN - 4)
    op.send(f"MODE {LONG_CHANNEL} +b {mask}", f"MODE {LONG_CHANNEL} +b *!*@short")
    op.take()
    op.send(f"MODE {LONG_CHANNEL} +b")
    raw = bytes(op.sink.data)
    lines = [line + b"\r\n" for line in raw.split(b"\r\n") if b" 367 " in line]
    assert len(lines) == 2 and all(len(line) <= MAX_BODY for line in lines)
    params = [parse_line(line[:-2]).params for line in lines]
    assert params[0][2] == mask and params[0][3] == nick  # shortened to fit
    assert params[1][3].startswith(nick + "!")  # a short line keeps the full prefix
