import pytest

from gateway.callsign import Callsign, parse_base_callsign, parse_callsign


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("N0TEST", Callsign("N0TEST")),
        ("kn4xyz-5", Callsign("KN4XYZ", 5)),
        (" G4ABC-15 ", Callsign("G4ABC", 15)),
        ("2E0ABC", Callsign("2E0ABC")),
        ("9A1A", Callsign("9A1A")),
        ("N0TEST-0", Callsign("N0TEST")),
    ],
)
def test_valid(text: str, expected: Callsign) -> None:
    assert parse_callsign(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "N0TEST-16", "N0TEST-05", "TOOLONG1", "ABCDEF", "123456", "N0TEST-", "N0 TEST", "N0TÉST",
     "N0TEST-5-5", "K1", "*** Disconnected from Stream 10"],
)  # fmt: skip
def test_invalid(text: str) -> None:
    assert parse_callsign(text) is None


def test_str_and_base_only() -> None:
    assert str(Callsign("KN4XYZ", 5)) == "KN4XYZ-5"
    assert str(Callsign("KN4XYZ")) == "KN4XYZ"
    assert parse_base_callsign("kn4xyz") == "KN4XYZ"
    assert parse_base_callsign("KN4XYZ-5") is None
