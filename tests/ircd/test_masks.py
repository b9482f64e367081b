"""Mask items, example by example from UnrealIRCd's "Mask item" page (seed 004).

Each test is named after the passage of the document it checks.
"""

from __future__ import annotations

import pytest

from ircd.masks import (
    MaskError,
    SecurityGroups,
    Subject,
    glob_match,
    parse_duration,
    parse_mask_item,
)

FP = "ab" * 32


def who(host: str = "client.example.org", ip: str = "203.0.113.5", **kw: object) -> Subject:
    return Subject(host=host, ip=ip, **kw)  # type: ignore[arg-type]


def matches(item: object, subject: Subject) -> bool:
    return parse_mask_item(item).matches(subject)


# -- "One or more mask entries" ---------------------------------------------------------


def test_simple_variant_mask_127_0_0_1() -> None:
    assert matches("127.0.0.1", who(host="localhost", ip="127.0.0.1"))
    assert not matches("127.0.0.1", who(ip="127.0.0.2"))


def test_list_variant_example_net_and_example_com() -> None:
    item = ["*.example.net", "*.example.com"]
    assert matches(item, who(host="irc.example.net"))
    assert matches(item, who(host="IRC.Example.COM"))  # host names are case-insensitive
    assert not matches(item, who(host="example.org"))


# -- "IP matching dangers" --------------------------------------------------------------


def test_ip_matching_dangers_mask_192_168_star_matches_a_hostname() -> None:
    # The trap the document warns about: a host mask also matches host names.
    assert matches("192.168.*", who(host="192.168.example.net", ip="198.51.100.1"))
    assert matches("192.168.*", who(host="192.168.1.1", ip="192.168.1.1"))


def test_ip_matching_dangers_ip_192_168_star_matches_only_the_address() -> None:
    assert not matches({"ip": "192.168.*"}, who(host="192.168.example.net", ip="198.51.100.1"))
    assert matches({"ip": "192.168.*"}, who(host="x.example.net", ip="192.168.3.4"))


def test_ip_matching_dangers_cidr_notation_mask_192_168_0_0_16() -> None:
    assert matches("192.168.0.0/16", who(host="192.168.example.net", ip="192.168.200.1"))
    assert not matches("192.168.0.0/16", who(host="192.168.example.net", ip="10.0.0.1"))
    assert matches({"ip": "2001:db8::/32"}, who(ip="2001:db8:1::5"))
    assert not matches({"ip": "2001:db8::/32"}, who(ip="2001:db9::5"))


# -- "Advanced matching criteria": each item ---------------------------------------------


def test_item_mask_with_user_and_nick_parts() -> None:
    s = who(nick="Alice", user="~alice", host="h.example.net")
    assert matches("~alice@*.example.net", s)
    assert matches("alice!*@*", s)
    assert not matches("bob!*@*", s)
    assert not matches("root@*", s)


def test_item_ip_glob_and_cidr() -> None:
    assert matches({"ip": ["127.*", "10.0.0.0/8"]}, who(ip="10.9.8.7"))
    assert matches({"ip": "127.*"}, who(ip="127.0.0.1"))


def test_item_identified() -> None:
    assert matches({"identified": True}, who(account="acct"))
    assert not matches({"identified": True}, who())


def test_item_webirc_and_websocket() -> None:
    assert matches({"webirc": True}, who(webirc=True))
    assert not matches({"webirc": True}, who())
    assert matches({"websocket": True}, who(websocket=True))


def test_item_tls() -> None:
    assert matches({"tls": True}, who(tls=True))
    assert not matches({"tls": True}, who(tls=False))


def test_item_connect_time_longer_and_less_than() -> None:
    assert matches({"connect-time": 300}, who(connected_for=300))
    assert not matches({"connect-time": "5m"}, who(connected_for=299))
    assert matches({"connect_time": "<5m"}, who(connected_for=10))
    assert not matches({"connect-time": "<5m"}, who(connected_for=301))
    assert parse_duration("1h30m") == 5400
    assert parse_duration("5x") is None


def test_item_security_group_builtin_and_configured() -> None:
    trusted = parse_mask_item({"account": "TrustedUser"})
    groups = SecurityGroups((("trusted", trusted),))
    item = parse_mask_item({"security-group": ["trusted", "tls-users"]})
    assert item.matches(groups.resolve(who(account="trusteduser")))
    assert item.matches(groups.resolve(who(tls=True)))
    assert not item.matches(groups.resolve(who()))
    resolved = groups.resolve(who(account="x", tls=True))
    assert {"known-users", "tls-users", "tls-and-known-users"} <= resolved.groups
    assert "unknown-users" in groups.resolve(who()).groups


def test_item_account_list() -> None:
    item = {"account": ["TrustedUser1", "TrustedUser2"]}
    assert matches(item, who(account="trusteduser2"))
    assert not matches(item, who(account="Other"))
    assert not matches(item, who())


def test_item_realname() -> None:
    assert matches({"realname": "*Bot*"}, who(realname="I am a bot, beep"))
    assert not matches({"realname": "*Bot*"}, who(realname="human"))


def test_item_certfp() -> None:
    assert matches({"certfp": FP.upper()}, who(certfp=FP))
    assert matches({"certfp": ":".join(FP[i : i + 2] for i in range(0, 64, 2))}, who(certfp=FP))
    assert not matches({"certfp": FP}, who(certfp="cd" * 32))
    # Audit 4.9 (founder certfp): a client without a certificate never matches a certfp.
    assert not matches({"certfp": FP}, who(certfp=None))


def test_item_channel_with_status_prefix() -> None:
    s = who(channels={"#Main": "o", "#talk": "v", "#idle": ""})
    assert matches({"channel": "@#main"}, s)  # all ops in #main
    assert not matches({"channel": "@#talk"}, s)
    assert matches({"channel": "+#talk"}, s)
    assert matches({"channel": "#idle"}, s)
    assert not matches({"channel": "+#idle"}, s)
    assert not matches({"channel": "#elsewhere"}, s)


# -- "Matching rules" -------------------------------------------------------------------


def test_matching_rules_items_set_to_no_are_skipped() -> None:
    # "no" does not mean "must not": it is ignored, so this matches on the host alone.
    item = {"mask": "*.example.org", "tls": False, "identified": False}
    assert matches(item, who(tls=True, account="a"))
    assert matches(item, who())


def test_matching_rules_only_one_yes_item_needs_to_match() -> None:
    item = {"tls": True, "identified": True, "ip": "10.*"}
    assert matches(item, who(tls=True))
    assert matches(item, who(account="a"))
    assert matches(item, who(ip="10.1.1.1"))
    assert not matches(item, who())


def test_matching_rules_exclude_items_win_even_if_other_things_matched() -> None:
    item = {"mask": "*", "exclude-tls": True, "exclude-account": "bad", "exclude-ip": "10.*"}
    assert matches(item, who())
    assert not matches(item, who(tls=True))
    assert not matches(item, who(account="BAD"))
    assert not matches(item, who(ip="10.0.0.1"))
    for name in ("identified", "webirc", "websocket"):
        assert not matches(
            {"mask": "*", f"exclude-{name}": True}, who(account="a", webirc=True, websocket=True)
        )
    assert not matches({"mask": "*", "exclude-mask": "*.example.org"}, who())
    assert not matches({"mask": "*", "exclude-realname": "*spam*"}, who(realname="spam bot"))
    assert not matches({"mask": "*", "exclude-certfp": FP}, who(certfp=FP))
    assert not matches({"mask": "*", "exclude-connect-time": "<1m"}, who(connected_for=5))
    assert not matches({"mask": "*", "exclude-channel": "#x"}, who(channels={"#x": ""}))
    groups = SecurityGroups()
    item2 = parse_mask_item({"mask": "*", "exclude-security-group": "tls-users"})
    assert not item2.matches(groups.resolve(who(tls=True)))
    assert item2.matches(groups.resolve(who()))


def test_matching_rules_exclude_set_to_no_is_skipped_too() -> None:
    assert matches({"mask": "*", "exclude-tls": False}, who(tls=True))


def test_only_exclude_criteria_is_refused_because_it_never_matches() -> None:
    with pytest.raises(MaskError, match="no positive criterion"):
        parse_mask_item({"exclude-tls": True})


# -- "Examples" -------------------------------------------------------------------------


def test_example_by_account() -> None:
    one = {"account": "TrustedUser"}
    many = {"account": ["TrustedUser", "OtherUser", "YetAnother"]}
    assert matches(one, who(account="TrustedUser"))
    assert matches(many, who(account="yetanother"))
    assert not matches(one, who(account="Stranger"))


def test_example_by_country_is_refused_with_the_reason() -> None:
    with pytest.raises(MaskError) as info:
        parse_mask_item({"country": ["ES", "AR"]})
    assert info.value.problems == [("country", "not supported: this server has no GeoIP data")]
    for key in ("asn", "reputation-score", "rule", "destination", "exclude-country"):
        with pytest.raises(MaskError, match="not supported"):
            parse_mask_item({"mask": "*", key: "1"})


# -- "Negative matching" ----------------------------------------------------------------


def test_negative_matching_all_entries_negative_match_by_default() -> None:
    item = ["!192.168.*", "!10.*"]
    assert not matches(item, who(host="192.168.1.1", ip="192.168.1.1"))
    assert not matches(item, who(host="10.1.1.1", ip="10.1.1.1"))
    assert matches(item, who(host="irc.example.com", ip="198.51.100.7"))  # anything else


def test_negative_matching_mixed_entries_do_not_match_by_default() -> None:
    item = ["*.com", "!irc1.*", "!irc2.*"]
    assert not matches(item, who(host="irc1.example.com"))
    assert not matches(item, who(host="irc2.example.com"))
    assert matches(item, who(host="irc3.example.com"))
    assert not matches(item, who(host="irc3.example.org"))  # anything else


def test_negative_matching_in_other_lists() -> None:
    assert matches({"account": ["!bad"]}, who(account="good"))
    assert not matches({"account": ["!bad"]}, who(account="Bad"))
    assert matches({"ip": ["!10.0.0.0/8"]}, who(ip="192.0.2.1"))
    assert not matches({"ip": ["!10.0.0.0/8"]}, who(ip="10.0.0.1"))


# -- malformed items --------------------------------------------------------------------


def test_malformed_items_list_every_problem() -> None:
    with pytest.raises(MaskError) as info:
        parse_mask_item(
            {
                "mask": "*",
                "tls": "maybe",
                "certfp": "nothex",
                "ip": "10.0.0.0/99",
                "channel": "nochannel",
                "connect-time": "soon",
                "bogus": 1,
                "account": [],
            }
        )
    keys = [p for p, _ in info.value.problems]
    assert keys == ["tls", "certfp", "ip", "channel", "connect-time", "bogus", "account"]
    with pytest.raises(MaskError):
        parse_mask_item(42)
    with pytest.raises(MaskError):
        parse_mask_item({"mask": "*", "mask_": 1, "exclude_tls": True, "exclude-tls": True})


def test_ipv4_mapped_address_is_normalized_by_the_server() -> None:
    from ircd.masks import normalize_ip

    assert normalize_ip("::ffff:192.0.2.1") == "192.0.2.1"
    assert normalize_ip("2001:DB8::1") == "2001:db8::1"
    assert normalize_ip("not-an-ip") == "not-an-ip"


def test_glob_match() -> None:
    assert glob_match("*", "")
    assert glob_match("a?c*", "abcdef")
    assert not glob_match("a?c", "ac")
    assert glob_match("*!*@192.0.2.*", "nick!user@192.0.2.7")
    # Audit 4.6: a pathological pattern finishes quickly (no exponential backtracking).
    assert not glob_match("*a" * 50 + "b", "a" * 5000)
