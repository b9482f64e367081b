"""Radio warnings and radio logins reach IRC operators, each under its snomask letter."""

from __future__ import annotations

import asyncio
import logging

from gateway.irc.opernotices import LoginNotices, OperatorAlerts, describe_source, whois_lines


async def test_radio_warnings_become_lettered_notices_keyed_for_repeats(caplog) -> None:
    caplog.set_level(logging.INFO)  # as `log_level: info` (the default) does
    sent: list[tuple[str, str, str, str]] = []
    alerts = OperatorAlerts(lambda *notice: sent.append(notice), asyncio.get_running_loop())
    alerts.install()
    try:
        port = logging.getLogger("radio.port")
        port.warning("%s: TNC connection lost", "vhf")
        port.info("%s: connected to the TNC", "vhf")
        port.warning("%s: TNC connection lost", "uhf")
        logging.getLogger("radio.station").info("vhf: N0USR connected (via direct)")  # not wanted
        logging.getLogger("gateway").warning("radio transmitter %s", "OFF")
        third = logging.getLogger("gateway.thirdparty")
        third.info("text from %s not sent on air to %s (third-party rule)", "anon", "N0TEST")
        logging.getLogger("gateway.bridge").warning("radio transmitter? not from here")
        await asyncio.sleep(0)
    finally:
        alerts.remove()
    lost = "radio.port:%s: TNC connection lost"
    assert sent == [
        ("vhf: TNC connection lost", "r", lost, "vhf"),
        ("vhf: connected to the TNC", "r", "radio.port:%s: connected to the TNC", "vhf"),
        ("uhf: TNC connection lost", "r", lost, "uhf"),  # same kind, another source
        ("radio transmitter OFF", "r", "gateway:radio transmitter %s", "radio transmitter OFF"),
        (
            "text from anon not sent on air to N0TEST (third-party rule)",
            "p",
            "gateway.thirdparty:text from %s not sent on air to %s (third-party rule)",
            "anon",
        ),
    ]


def test_sources_read_as_how_and_from_where() -> None:
    assert describe_source("telnet:bpq:call:N0TEST") == "BPQ node bpq"
    assert describe_source("telnet:tel:ip:2001:db8::7") == "telnet listener tel from 2001:db8::7"
    assert (
        describe_source("ax25:vhf:WIDE1-1,RELAY:call:N0TEST") == "AX.25 port vhf, via WIDE1-1,RELAY"
    )
    assert describe_source("ax25:vhf:direct:call:N0TEST") == "AX.25 port vhf, direct"
    assert describe_source("irc:sasl:ip:192.0.2.7") == "SASL from 192.0.2.7"
    assert describe_source("odd") == "odd"


def test_login_notices_name_callsign_and_source_never_the_code() -> None:
    sent: list[tuple[str, str, str, str]] = []
    logins = LoginNotices(lambda *notice: sent.append(notice))
    logins.attempt("N0TEST-5", "telnet:bpq:call:N0TEST", "ok", True)
    logins.attempt("K1ABC", "ax25:vhf:direct:call:K1ABC", "wrong code", False)
    logins.attempt("K1ABC", "irc:sasl:ip:192.0.2.7", "wrong code", False)  # the server's (u)
    logins.alert("possible guessing attack on K1ABC: ...", "ax25:vhf:direct:call:K1ABC")
    logins.alert("possible guessing across the gateway: ...", "irc:sasl:ip:192.0.2.7")
    assert sent == [
        ("N0TEST-5 logged in through BPQ node bpq", "l", "", ""),
        ("Failed radio login as K1ABC through AX.25 port vhf, direct: wrong code", "l", "failed",
         "ax25:vhf"),
        ("Warning: possible guessing attack on K1ABC: ...", "l", "alert", "ax25:vhf"),
        ("Warning: possible guessing across the gateway: ...", "u", "alert",
         "irc:sasl:ip:192.0.2.7"),
    ]  # fmt: skip


def test_whois_lines_say_node_path_and_login_time() -> None:
    assert whois_lines("N0TEST-5", "ax25:vhf:WIDE1-1:call:N0TEST", 1_800_000_000.0) == [
        "is on the air as N0TEST-5 through AX.25 port vhf, via WIDE1-1, "
        "logged in 2027-01-15 08:00:00Z"
    ]
