"""Trust across the gateways of one network (gateway/bridge/trust.py, issue 20): other
gateways' radio users and service nicks known by the address only the holders of the
network's `radio_key` can give; squatters of a callsign nick told apart from its owner."""

from __future__ import annotations

import ipaddress

from gateway.bridge.trust import SERVICE_USER, NetworkPeers, Trust
from gateway.config import ExternalIrc
from gateway.irc.external import radio_ip
from gateway.session.thirdparty import IDENTIFIED_ONLY, SQUATTED
from ircd.casemap import folder
from ircd.protocol import parse_line

KEY = "a-long-club-secret"
FOLD = folder("rfc1459")


def peers(key: str | None = KEY) -> NetworkPeers:
    settings = ExternalIrc("irc.example", radio_key=key, service_nicks=("N0GWmail", "W2GWmail"))
    return NetworkPeers(settings, FOLD)


def at(nick: str, user: str, key: str | None = KEY) -> str:
    return f"{nick}!{user}@{radio_ip(user, key)}"


def test_the_key_makes_addresses_nobody_else_can() -> None:
    assert radio_ip("n0aaa", KEY) != radio_ip("n0aaa")
    assert radio_ip("n0aaa", KEY) != radio_ip("n0aaa", KEY + "x")
    assert radio_ip("N0AAA", KEY) == radio_ip("n0aaa", KEY)
    assert ipaddress.ip_address(radio_ip("n0aaa", KEY)) in ipaddress.ip_network("fd00::/8")


def test_radio_users_of_other_gateways_by_their_address() -> None:
    p = peers()
    for nick in ("N0AAA", "N0AAA-5", "N0AAA-5_", "n0aaa-5"):
        assert p.radio_user(at(nick, "n0aaa")), nick
    assert p.radio_user("_2E0ABC!n0gw@" + radio_ip("2e0abc", KEY))  # ngircd: the gateway's user
    # Any other address, or another callsign's, is not a radio user's.
    assert not p.radio_user(at("N0AAA", "n0bbb"))
    assert not p.radio_user(at("N0AAA", "n0aaa", key=None))
    assert not p.radio_user("N0AAA!n0aaa@198.51.100.7")
    assert not p.radio_user("alice!n0aaa@" + radio_ip("n0aaa", KEY))  # not a callsign nick
    assert not peers(key=None).radio_user(at("N0AAA", "n0aaa", key=None))  # no key: no vouch


def test_service_nicks_of_the_network() -> None:
    p = peers()
    assert p.service(at("W2GWmail", SERVICE_USER))
    assert p.service(at("w2gwMAIL", SERVICE_USER))
    assert not p.service(at("K9GWmail", SERVICE_USER))  # not one of the network's
    assert not p.service("W2GWmail!gateway@198.51.100.7")  # a squatter of the nick
    assert not peers(key=None).service(at("W2GWmail", SERVICE_USER, key=None))


def test_squatters_of_callsign_nicks() -> None:
    for key in (KEY, None):
        p = peers(key)
        assert p.squatter("N0AAA!x@198.51.100.7", "")
        assert p.squatter("N0AAA_!x@198.51.100.7", "")
        assert not p.squatter("N0AAA!x@198.51.100.7", "N0AAA")  # logged in as the callsign
        assert p.squatter("N0AAA!x@198.51.100.7", "N0BBB")
        assert not p.squatter(at("N0AAA-5", "n0aaa", key), "")  # the radio user
        assert not p.squatter("alice!x@198.51.100.7", "")  # not a callsign
    assert peers().squatter(at("N0AAA", "n0aaa", key=None), "")  # the key's address only


def test_every_nick_form_that_passes_for_a_callsign_on_air() -> None:
    """SSIDs out of range, trailing digits, a leading underscore, away and taken-nick
    decoration: each names N0AAA, so only N0AAA's address or account may use it."""
    forms = ("N0AAA-16", "N0AAA1", "_N0AAA", "N0AAA|away", "N0AAA_", "n0aaa-5", "N0AAA-5__")
    for key in (KEY, None):
        p = peers(key)
        for nick in forms:
            assert p.squatter(f"{nick}!x@198.51.100.7", ""), nick
            assert p.squatter(f"{nick}!x@198.51.100.7", "N0BBB"), nick
            assert not p.squatter(f"{nick}!x@198.51.100.7", "n0aaa"), nick  # the account
            assert not p.squatter(at(nick, "n0aaa", key), ""), nick  # the radio user
            assert p.squatter(at(nick, "n0bbb", key), ""), nick  # another's address


def test_lookalikes_of_a_callsign_are_squatters_unless_the_account_folds_alike() -> None:
    p = peers()
    for nick in ("NOAAA", "N0AAAI", "N0TES7", "K4LE61", "WIAW", "N0AAA|away"):
        assert p.squatter(f"{nick}!x@198.51.100.7", ""), nick
    # A lookalike is no callsign's radio user nick: no address vouches for it.
    assert p.squatter(at("NOAAA", "n0aaa"), "")
    assert p.squatter(at("NOAAA", "noaaa"), "")
    # The ham whose callsign folds alike keeps it (lookalike.may_use).
    assert not p.squatter("NOAAA!x@198.51.100.7", "N0AAA")
    assert not p.squatter("W1AW|away!x@198.51.100.7", "W1AW")
    assert p.squatter("NOAAA!x@198.51.100.7", "N0BBB")
    # N0TES7 names N0TES itself too: its radio user's address is N0TES's.
    assert not p.squatter(at("N0TES7", "n0tes"), "")
    # Ordinary nicks stay free (a lower-case letter is not read as a digit).
    for nick in ("alice", "Bob", "sysop", "Gateway", "N0GWmail", "WX", "[away]"):
        assert not p.squatter(f"{nick}!x@198.51.100.7", ""), nick


class Link:
    """Our own service nick's link, as the network shows it."""

    closed = False

    def __init__(self, source: str) -> None:
        self.source = source


def test_trust_on_a_network_with_a_key() -> None:
    service = Link(at("N0GWmail", SERVICE_USER))  # the network shows WEBIRC addresses
    trust = Trust(lambda: "identified", lambda: (service,), peers())  # type: ignore[arg-type,return-value]
    other_radio = parse_line(f":{at('N0BBB-1', 'n0bbb')} PRIVMSG #net :hi".encode())
    assert trust.refusal(other_radio) is None
    anon = parse_line(b":alice!a@198.51.100.7 PRIVMSG #net :hi")
    assert trust.refusal(anon) == IDENTIFIED_ONLY
    squat = parse_line(b"@account=alice :N0BBB!a@198.51.100.7 PRIVMSG #net :hi")
    assert trust.refusal(squat) == SQUATTED
    away = parse_line(b"@account=alice :N0BBB|away!a@198.51.100.7 PRIVMSG #net :hi")
    assert trust.refusal(away) == SQUATTED
    own = parse_line(b"@account=n0bbb :N0BBB|away!a@198.51.100.7 PRIVMSG #net :hi")
    assert trust.refusal(own) is None
    assert trust.peer_service(at("N0GWmail", SERVICE_USER))
    # The embedded server keeps callsign nicks: no squatters there, nobody else vouched.
    embedded = Trust(lambda: "all", tuple)
    assert not embedded.squatted("N0BBB!a@198.51.100.7", "")
    assert not embedded.trusted_source(at("N0BBB-1", "n0bbb"))


def test_no_squatters_where_the_network_does_not_show_the_address() -> None:
    """A network showing the WEBIRC host name (or cloaking), or a gateway without
    `webirc_password`: no address tells a squatter from the radio user, so the rule is
    off rather than silencing this gateway's own radio users (their address unseen)."""
    own_radio = parse_line(b":N0AAA-5!~n0aaa@bpq.radio PRIVMSG #net :hi")
    for shown in ("N0GWmail!gateway@gateway.radio", "N0GWmail!~gateway@192.0.2.10"):
        link = Link(shown)
        trust = Trust(lambda: "all", lambda link=link: (link,), peers())  # type: ignore[misc]
        assert not trust.addresses_shown()
        assert trust.refusal(own_radio) is None
    # Before the service nick's source is known (or with it off IRC), the same.
    assert not Trust(lambda: "all", tuple, peers()).addresses_shown()
