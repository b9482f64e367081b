"""Names that pass for others: callsign lookalikes and the gateway's own nicks (finding 7)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gateway.irc.hooks import CallsignNicks
from gateway.lookalike import fold, gateway_form, imitated, may_use


def test_fold_maps_each_confusion_to_one_character() -> None:
    assert fold("n0test") == fold("NOTEST") == fold("N0TES7") == "NOTEST"
    assert fold("1l I") == "II I"
    assert fold("58") == "SB"


@pytest.mark.parametrize(
    ("nick", "expected"),
    [
        ("N0TEST", [("N0TEST", True)]),
        ("n0test-5", [("N0TEST", True)]),
        ("N0TEST1", [("N0TEST", True)]),  # trailing digits: a callsign ends in a letter
        ("K4LEG1", [("K4IEGI", False), ("K4LEG", True)]),  # or they stand for letters
        ("N0TES7", [("NOTEST", False), ("N0TES", True)]),
        ("_2E0ABC_", [("2E0ABC", True)]),
        ("NOTEST", [("NOTEST", False)]),
        ("NOtest", [("NOTEST", False)]),
        ("N0TE5T", [("N0TE5T", True)]),  # itself a callsign shape: exactly that one
        ("NOTEST7", [("NOTEST", False)]),
        ("_2EOABC", [("2EOABC", False)]),
        ("ALICE", [("AIICE", False)]),
        # Ordinary nicks: nothing read as a digit where a callsign has its digit.
        ("alice", []),
        ("Bob", []),
        ("sysop", []),
        ("notest", []),
        ("Guest12345", []),
        ("N0TESTER", []),
        ("[Bob]", []),
        ("[]", []),
        # Punctuation in front is skipped as a reader skips it (hostile review, 9).
        ("[N0TEST]", [("N0TEST", True)]),
        ("{n0test}", [("N0TEST", True)]),
        ("^N0TEST", [("N0TEST", True)]),
        ("`N0TEST", [("N0TEST", True)]),
        ("|W1AW", [("W1AW", True)]),
        ("[NOTEST]", [("NOTEST", False)]),
    ],
)
def test_what_a_nick_imitates(nick: str, expected: list[tuple[str, bool]]) -> None:
    assert list(imitated(nick)) == expected


def test_a_ham_keeps_nicks_that_read_as_their_own_callsign() -> None:
    # Both sides are folded: N0TEST may write its call NOTEST, a ham whose callsign
    # has an O, an I or an S keeps its own nick and its lookalikes.
    assert may_use("N0TEST", "NOTEST") and may_use("N0TEST", "N0TES7")
    assert may_use("G4OBL", "G4OBL") and may_use("G4OBL", "G4OBL_")
    assert not may_use("K9EVIL", "NOTEST") and not may_use(None, "N0TES7")
    # A nick that is itself a callsign is that callsign's only, lookalike or not.
    assert not may_use("N0TEST", "N0TE5T") and may_use("N0TE5T", "N0TE5T")
    # Trailing digits: either reading's owner may use it.
    assert may_use("K4LEG", "K4LEG1") and may_use("N0TES", "N0TES7")
    assert may_use(None, "alice") and may_use("K9EVIL", "Bob")


def test_gateway_forms_strip_decoration_and_read_letter_pairs() -> None:
    own = gateway_form("Gateway")
    for nick in ("Gateway_", "GATEWAY2", "Gateway-", "[Gateway]", "Gatevvay", "GatevvaY|"):
        assert gateway_form(nick) == own, nick
    assert gateway_form("Gatekeeper") != own


def test_lookalike_nicks_are_reserved_whatever_is_enrolled() -> None:
    hooks = CallsignNicks()
    hooks.gateway_nicks = frozenset({"gateway"})
    anon = SimpleNamespace(account=None, in_process=False)
    evil = SimpleNamespace(account="K9EVIL", in_process=False)
    owner = SimpleNamespace(account="N0TEST", in_process=False)
    service = SimpleNamespace(account=None, in_process=True)
    for enrolled in (frozenset(), frozenset({"N0TEST"})):
        hooks.enrolled = enrolled
        for nick in ("NOTEST", "N0TES7", "NOTEST_", "N0TEST1"):
            assert hooks.nick_reserved(anon, nick) is not None, nick  # type: ignore[arg-type]
            assert hooks.nick_reserved(evil, nick) is not None, nick  # type: ignore[arg-type]
            assert hooks.nick_reserved(owner, nick) is None, nick  # type: ignore[arg-type]
    for nick in ("Gateway", "Gateway_", "GATEVVAY", "Gateway2", "[Gateway]"):
        assert hooks.nick_reserved(anon, nick) is not None, nick  # type: ignore[arg-type]
        assert hooks.nick_reserved(owner, nick) is not None, nick  # type: ignore[arg-type]
    assert hooks.nick_reserved(service, "Gateway") is None  # type: ignore[arg-type]
    assert "can pass for a callsign" in (hooks.nick_reserved(anon, "NOTEST") or "")  # type: ignore[arg-type]
    assert hooks.nick_reserved(anon, "alice") is None  # type: ignore[arg-type]
