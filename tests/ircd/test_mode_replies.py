"""One MODE line, a bounded answer (the hostile review's finding 10): at most ISUPPORT
MODES changes with a parameter, and each error numeric once per letter, 8 in all."""

from __future__ import annotations

from collections import Counter

from ircd.commands.mode import MAX_REFUSALS
from ircd.isupport import MAX_MODES


def op_in(harness):  # type: ignore[no-untyped-def]
    op = harness.user("op")
    op.send("JOIN #m")
    op.take()
    return op


def counted(client) -> Counter[str]:  # type: ignore[no-untyped-def]
    return Counter(m.command for m in client.take())


def test_a_letter_missing_its_parameter_is_refused_once(harness) -> None:
    op = op_in(harness)
    op.send("MODE #m +" + "l" * 300 + " 5")
    assert counted(op) == {"MODE": 1, "696": 1}
    op.send("MODE #m +" + "k" * 300)
    assert counted(op) == {"696": 1}
    op.send("MODE #m +" + "lk" * 100)
    assert counted(op) == {"696": 2}  # once for l, once for k


def test_unknown_letters_are_refused_once_each_and_eight_in_all(harness) -> None:
    op = op_in(harness)
    op.send("MODE #m +" + "x" * 300)
    assert counted(op) == {"472": 1}
    op.send("MODE #m +" + "xyzXYZ" * 50)
    assert counted(op) == {"472": 6}
    letters = "".join(chr(c) for c in range(0x100, 0x100 + 150))
    op.send(f"MODE #m +{letters}")
    assert counted(op) == {"472": MAX_REFUSALS}


def test_changes_with_a_parameter_stop_at_isupport_modes(harness) -> None:
    op = op_in(harness)
    op.send("MODE #m +" + "b" * 10 + " " + " ".join(f"n{i}" for i in range(10)))
    [change] = op.take()
    assert change.params[1] == "+" + "b" * MAX_MODES
    assert change.params[2:] == tuple(f"n{i}!*@*" for i in range(MAX_MODES))
    assert "MODES=4" in harness.server.isupport


def test_user_modes_refuse_snomasks_once_to_non_operators(harness) -> None:
    user = harness.user("me")
    user.send("MODE me +" + "Bsiow" * 50)
    replies = user.take()
    assert Counter(m.command for m in replies) == {"481": 1, "MODE": 1}
    assert replies[-1].params[1] == "+Biw"


def test_an_operator_sets_one_snomask_per_line(harness) -> None:
    op = harness.user("op")
    harness.server.set_oper(op.client, "root")
    op.take()
    op.send("MODE op -s")
    op.take()
    # Each +s with letters drew a 008 and took a parameter; now one per line.
    op.send("MODE op " + "+s" * 40 + " +c" + " -c+k" * 9)
    replies = op.take()
    assert [(m.command, m.params[1]) for m in replies] == [("008", "+c"), ("MODE", "+s")]
    assert op.client.snomask == "c"
