"""The third-party rule, one function for messages and for clients of the embedded server."""

from __future__ import annotations

import pytest

from gateway.session.thirdparty import IDENTIFIED_ONLY, RADIO_ONLY, SQUATTED, refusal_for
from ircd.client import Client
from ircd.protocol import Message, parse_line

SERVICE = "Gateway!gateway@gateway.radio"


def message(source: str, account: str | None = None) -> Message:
    tags = f"@account={account} " if account else ""
    return parse_line(f"{tags}:{source} PRIVMSG #test :hi".encode())


@pytest.mark.parametrize(
    ("source", "account", "all_", "identified", "radio"),
    [
        ("anon!a@example.org", None, None, IDENTIFIED_ONLY, RADIO_ONLY),
        ("alice!a@example.org", "alice", None, None, RADIO_ONLY),
        ("N0TEST-5!n0test@bpq.node1.radio", "N0TEST", None, None, None),
        # A radio host without an account is anyone who chose that host.
        ("fake!f@bpq.node1.radio", None, None, IDENTIFIED_ONLY, RADIO_ONLY),
        (SERVICE, None, None, None, None),  # the gateway's own client, by its full source
        ("Gateway!x@elsewhere.example", None, None, IDENTIFIED_ONLY, RADIO_ONLY),
    ],
)
def test_messages(
    source: str, account: str | None, all_: str | None, identified: str | None, radio: str | None
) -> None:
    msg = message(source, account)
    for policy, expected in (("all", all_), ("identified", identified), ("radio", radio)):
        assert refusal_for(policy, msg, trusted=SERVICE.__eq__) == expected, policy


def test_clients_of_the_embedded_server() -> None:
    def client(host: str, account: str | None, in_process: bool) -> Client:
        c = Client(1, lambda data: None, ip="192.0.2.1", tls=False, now=0.0, max_line=512)
        c.host, c.account, c.in_process = host, account, in_process
        return c

    radio = client("bpq.node1.radio", "N0TEST", in_process=True)
    assert refusal_for("radio", radio) is None
    # Only the gateway's in-process clients are radio users, whatever their host says.
    socket = client("bpq.node1.radio", "N0TEST", in_process=False)
    assert refusal_for("radio", socket) == RADIO_ONLY
    assert refusal_for("identified", socket) is None
    assert refusal_for("identified", client("h.example", None, in_process=False)) == IDENTIFIED_ONLY
    assert refusal_for("all", client("h.example", None, in_process=False)) is None


def test_the_trusted_check_is_asked_only_when_it_matters() -> None:
    asked: list[str] = []

    def trusted(source: str) -> bool:
        asked.append(source)
        return False

    refusal_for("all", message("anon!a@example.org"), trusted=trusted)
    refusal_for("identified", message("N0TEST-5!n@bpq.radio", "N0TEST"), trusted=trusted)
    assert asked == []


def test_a_squatter_of_a_callsign_nick_is_refused_under_every_policy() -> None:
    """On a network (issue 20): whatever the rule, text from a nick that holds a radio
    user's callsign without being them never goes on air as that callsign."""
    msg = message("N0TEST!squat@198.51.100.7", "someone")

    def squatted(source: str, account: str) -> bool:
        return source.startswith("N0TEST!") and account != "N0TEST"

    for policy in ("all", "identified", "radio"):
        assert refusal_for(policy, msg, squatted=squatted) == SQUATTED, policy
    owner = message("N0TEST!n0test@198.51.100.7", "N0TEST")
    assert refusal_for("all", owner, squatted=squatted) is None
    assert refusal_for("identified", owner, squatted=squatted) is None
