"""IRC operators and the radio side: `RADIO` over a real socket against `gateway run`."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from ircd.passwords import hash_password
from tests.gateway.support import Client, GatewayProcess, enroll, free_port, run_cli
from tests.gateway.test_bridge_e2e import bridge_config, radio_login
from tests.gateway.test_irc_credentials import plain, sasl
from tests.ircd.conftest import LiveClient

Spawn = Callable[[Path], GatewayProcess]


async def notices_until(client: LiveClient, end: str) -> list[str]:
    """Server notices up to (and including) the one containing `end`."""
    out = []
    while True:
        msg = await client.expect("NOTICE")
        out.append(msg.params[-1])
        if end in msg.params[-1]:
            return out


def oper_config(tmp_path: Path, bpq: int, irc_port: int) -> Path:
    """The bridge's test config with an operator `sysop` (password `pw`)."""
    config = bridge_config(tmp_path, bpq, irc_port)
    oper = f"  opers: [{{name: sysop, password_hash: '{hash_password('pw')}'}}]\n"
    config.write_text(config.read_text().replace("irc:\n", "irc:\n" + oper))
    return config


async def operator(port: int) -> LiveClient:
    """A client opered as `sysop` (password `pw`)."""
    op = await LiveClient.connect(port)
    await op.register("sysop")
    await op.send("OPER sysop pw")
    await op.expect("381")
    return op


async def test_operator_lists_kicks_and_switches_the_transmitter(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    bpq, irc_port = free_port(), free_port()
    config = oper_config(tmp_path, bpq, irc_port)
    totp = enroll(config, "N0TEST")
    gw = spawn_gateway(config)
    await gw.start()
    ham = await radio_login(bpq, "N0TEST-5", totp.now())

    user = await LiveClient.connect(irc_port)
    await user.register("user")
    subcommands = (
        "SESSIONS", "KICK N0TEST-5", "REVOKE N0TEST", "LOCK N0TEST 1h", "UNLOCK N0TEST",
        "PENALTIES", "TX", "TX OFF", "AUDIT", "ENROLL X", "HELP",
    )  # fmt: skip
    for line in (f"RADIO {sub}" for sub in subcommands):
        await user.send(line)
        assert (await user.expect("481")).params[-1].startswith("Permission Denied")

    op = await LiveClient.connect(irc_port)
    await op.register("sysop")
    await op.send("OPER sysop pw")
    await op.expect("381")
    await op.send("RADIO SESSIONS")
    lines = await notices_until(op, "radio session(s).")
    assert lines[-1] == "1 radio session(s)."
    assert lines[0].startswith("N0TEST-5 (N0TEST-5) via BPQ node1, since ")
    assert "idle 0s" in lines[0] and "bytes to the user" in lines[0]

    await op.send("RADIO ENROLL K1ABC")
    assert "console" in (await notices_until(op, "console"))[-1]

    # The bare callsign finds its SSIDs; IRC formatting never reaches the air.
    await op.send("RADIO KICK n0test \x02time\x02 for the \x0304net")
    assert "ended the radio session of N0TEST-5" in (await notices_until(op, "ended"))[-1]
    farewell = await ham.expect_close()
    assert farewell.endswith(b"Disconnected by sysop: time for the net\r\n")
    await gw.wait_log(r"N0TEST-5 on BPQ node1: session ends \(kicked by operator sysop\)")
    await op.send("RADIO SESSIONS")
    assert await notices_until(op, "No radio sessions.")

    # A lock refuses logins with the same answer as any failure, until unlocked.
    await op.send("RADIO LOCK N0TEST 1h")
    locked_note = (await notices_until(op, "locked"))[-1]
    assert locked_note.startswith("*** RADIO: sysop (oper sysop) locked N0TEST until ")
    lock_until = locked_note.rsplit("until ", 1)[1]
    code = totp.at(time.time() + 30)
    locked = await Client.connect(bpq, b"N0TEST-5\r\n")
    await locked.expect("Code: ")
    locked.send(code.encode() + b"\r")
    await locked.expect("Login failed.")
    locked.close()
    await op.send("RADIO PENALTIES")
    # The refused login's own notice (snomask l) may come first: the replies follow it.
    replies = [n for n in await notices_until(op, "penalty line(s).") if not n.startswith("***")]
    assert replies[0].startswith("N0TEST: locked until ")
    await op.send("RADIO UNLOCK n0test", "RADIO UNLOCK telnet:node1", "RADIO UNLOCK nonsense!")
    # The lock, and the penalty of the source refused while it held.
    assert (await notices_until(op, "unlocked n0test"))[-1].endswith(": 2 record(s) cleared")
    assert (await notices_until(op, "unlocked telnet:node1"))[-1].endswith(": 0 record(s) cleared")
    assert "not a callsign" in (await notices_until(op, "nonsense"))[-1]
    # A node the gateway does not have is refused, not "unlocked" (issue 22).
    await op.send("RADIO UNLOCK telnet:nonode")
    refused = (await notices_until(op, "nonode"))[-1]
    assert refused.startswith("no such node: 'telnet:nonode' (nodes: "), refused
    ham = await radio_login(bpq, "N0TEST-5", code)  # the refused code was never checked
    ham.send(b"/q\r")
    await ham.expect_close()

    await op.send("RADIO TX")
    assert (await notices_until(op, "transmitter"))[-1] == "The transmitter is ON."
    await op.send("RADIO TX OFF")
    switched = (await notices_until(op, "switched"))[-1]
    assert switched == "*** RADIO: sysop (oper sysop) switched the transmitter OFF"
    await gw.wait_log("radio transmitter OFF")
    status = run_cli(config, "radio", "status").stdout
    assert "radio transmitter switch: off; gateway running (pid " in status
    assert "told" not in status  # a query tells the running gateway nothing
    await op.send("RADIO TX ON")
    await notices_until(op, "switched the transmitter ON")
    assert "switch: on" in run_cli(config, "radio", "status").stdout
    # Revoking from IRC: the secret is gone and a login is refused like any failure.
    await op.send("RADIO REVOKE n0test")
    revoked = (await notices_until(op, "revoked"))[-1]
    assert revoked == "*** RADIO: sysop (oper sysop) revoked N0TEST"
    again = await Client.connect(bpq, b"N0TEST\r\n")
    await again.expect("Code: ")
    again.send(totp.at(time.time() + 30).encode() + b"\r")
    await again.expect("Login failed.")
    again.close()
    await op.send("RADIO REVOKE N0TEST")
    assert (await notices_until(op, "enrolled"))[-1] == "N0TEST is not enrolled."

    # Every action is in the audit trail, with who, from where and the result.
    await op.send("RADIO AUDIT")
    trail = await notices_until(op, "audit entries shown.")
    actions = [line.split(": ", 1)[1] for line in trail[:-1]]
    assert actions == [
        "enroll N0TEST -> enrolled (6 digits)",  # from the console
        "enroll K1ABC -> refused",
        "kick n0test (\x02time\x02 for the \x0304net) -> done: N0TEST-5",
        "lock N0TEST 1h -> until " + lock_until,
        "unlock n0test -> 2 record(s) cleared",
        "unlock telnet:node1 -> 0 record(s) cleared",
        "unlock nonsense! -> bad target",
        "unlock telnet:nonode -> bad target",
        "tx off -> done",
        "tx on -> done",
        "revoke n0test -> done",
        "revoke N0TEST -> not enrolled",
    ]
    assert " irc:sysop (oper sysop) from 127.0.0.1" in trail[1]

    # The console's actions and the operators' are in one trail, listed by the CLI too.
    assert run_cli(config, "unlock", "N0TEST").returncode == 0
    listed = run_cli(config, "audit", "--since", "1h").stdout.splitlines()
    assert "console:" in listed[0] and listed[0].endswith("enroll N0TEST -> enrolled (6 digits)")
    assert any(line.endswith("irc:sysop (oper sysop)  from 127.0.0.1: tx off -> done")
               for line in listed)  # fmt: skip
    assert listed[-2].endswith("unlock N0TEST -> 1 record(s) cleared")  # the refused login
    assert listed[-1].startswith("13 entries since ")
    bad = run_cli(config, "audit", "--since", "yesterday")
    assert bad.returncode == 1 and "expected 30m, 12h, 7d or YYYY-MM-DD" in bad.stderr

    await op.send("HELP RADIO")
    syntax = (await op.expect("704", "705")).params[-1]
    assert "RADIO <SESSIONS|KICK|REVOKE|LOCK|UNLOCK|PENALTIES|TX|AUDIT|HELP>" in syntax
    await user.close()
    await op.close()
    assert await gw.stop() == 0


async def test_lock_and_revoke_reach_irc_logins_too(tmp_path: Path, spawn_gateway: Spawn) -> None:
    """RADIO LOCK refuses the callsign's application password too and logs out its IRC
    clients; so do a console revoke after a lock and unlock, a new enrollment (for the
    logins with the old secret's codes), and RADIO REVOKE."""
    bpq, irc_port = free_port(), free_port()
    config = oper_config(tmp_path, bpq, irc_port)
    totp = enroll(config, "K2ABC")
    assert run_cli(config, "irc-codes", "allow", "K2ABC").returncode == 0
    made = run_cli(config, "apppass", "add", "K2ABC", "desktop")
    match = re.search(r"^    (\S+)$", made.stdout, re.MULTILINE)
    assert match is not None, made.stdout
    password = match[1]
    gw = spawn_gateway(config)
    await gw.start()

    async def logged_in() -> LiveClient:
        ham = await LiveClient.connect(irc_port)
        assert (await sasl(ham, "PLAIN", plain("K2ABC", password)))[1] == "903"
        await ham.send("CAP END")
        await ham.expect("001")
        return ham

    ham = await logged_in()
    op = await operator(irc_port)
    await op.send("RADIO LOCK K2ABC 1h")
    await notices_until(op, "locked K2ABC")
    assert "locked" in (await ham.expect("ERROR")).params[0]
    await ham.close()
    refused = await LiveClient.connect(irc_port)
    assert (await sasl(refused, "PLAIN", plain("K2ABC", password)))[1] == "904"
    await refused.close()
    # A restart while the lock holds, then the unlock: a password revoked on the console
    # after that still ends its login (what the gateway saw at its start, the callsign
    # locked, must not be what it compares with).
    second = run_cli(config, "apppass", "add", "K2ABC", "irssi")
    assert second.returncode == 0, second.stderr
    await op.close()
    assert await gw.stop() == 0
    gw = spawn_gateway(config)
    await gw.start()
    op = await operator(irc_port)
    await op.send("RADIO UNLOCK K2ABC")
    await notices_until(op, "unlocked K2ABC")
    ham = await logged_in()
    assert run_cli(config, "apppass", "revoke", "K2ABC", "1").returncode == 0
    assert "revoked or locked" in (await ham.expect("ERROR")).params[0]
    await ham.close()
    # A TOTP login ends when the callsign is enrolled anew (a new secret after a leak).
    by_code = await LiveClient.connect(irc_port)
    code = totp.at(time.time() + 30)
    assert (await sasl(by_code, "PLAIN", plain("K2ABC", code)))[1] == "903"
    await by_code.send("CAP END")
    await by_code.expect("001")
    enroll(config, "K2ABC", -1, "--replace")
    assert "revoked or locked" in (await by_code.expect("ERROR")).params[0]
    await by_code.close()
    match = re.search(r"^    (\S+)$", second.stdout, re.MULTILINE)
    assert match is not None
    password = match[1]
    ham = await logged_in()
    await op.send("RADIO REVOKE K2ABC")
    await notices_until(op, "revoked K2ABC")
    assert "revoked" in (await ham.expect("ERROR")).params[0]
    await ham.close()


async def test_bad_radio_arguments_get_one_usage_line_and_are_audited(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    bpq, irc_port = free_port(), free_port()
    gw = spawn_gateway(oper_config(tmp_path, bpq, irc_port))
    await gw.start()
    op = await operator(irc_port)
    bad = (
        ("RADIO LOCK N0TEST", "Usage: RADIO LOCK <callsign> <30m|12h|7d>: "),
        ("RADIO TX MAYBE", "Usage: RADIO TX [ON|OFF [port]]: "),
        ("RADIO AUDIT x", "Usage: RADIO AUDIT [n]: "),
        ("RADIO KICK :", "Usage: RADIO KICK <callsign> [reason]: "),
    )
    for line, usage in bad:
        await op.send(line)
        notices = await notices_until(op, "Usage: ")
        assert len(notices) == 1 and notices[0].startswith(usage), notices
    await op.send("RADIO TX OFF vhf")  # no such port: refused, and audited as such
    assert (await notices_until(op, "No radio port vhf"))[-1] == "No radio port vhf (ports: none)."
    await op.send("RADIO FOO")  # not a subcommand: the whole help
    assert len(await notices_until(op, "RADIO ENROLL: ")) == 9
    await op.send("RADIO AUDIT")
    trail = await notices_until(op, "audit entries shown.")
    actions = [line.split(": ", 1)[1] for line in trail[:-1]]
    assert actions == [
        "lock N0TEST -> bad arguments",
        "tx MAYBE -> bad arguments",
        "audit x -> bad arguments",
        "kick -> bad arguments",
        "tx off vhf -> refused: no such port",
    ]
    await op.close()
    assert await gw.stop() == 0


async def test_sapart_is_told_on_air_and_an_undone_sajoin_to_the_operator(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    """Walk report finding 8: SAPART from the current channel was silent on air, and a
    SAJOIN the third-party rule undid at once was, for the operator, a join."""
    bpq, irc_port = free_port(), free_port()
    config = oper_config(tmp_path, bpq, irc_port)
    config.write_text(config.read_text().replace("third_party: all", "third_party: identified"))
    totp = enroll(config, "N0TEST")
    gw = spawn_gateway(config)
    await gw.start()
    ham = await radio_login(bpq, "N0TEST-5", totp.now())
    ham.send(b"/j #hamradio\r")
    assert (await ham.expect("\r\n")).startswith(b"Joined #hamradio")
    op = await operator(irc_port)
    await op.send("SAPART N0TEST-5 #hamradio :moved")
    await notices_until(op, "used SAPART")
    # One line, as a kick is told; the operator's words stay off the air (identified).
    assert await ham.expect("\r\n") == b"Removed from #hamradio by an operator.\r\n"
    await op.send("SAJOIN N0TEST-5 #elsewhere")
    told = await notices_until(op, "without a /JOIN")
    assert told[-1] == (
        "*** THIRDPARTY: N0TEST-5 was put in #elsewhere without a /JOIN and left it"
        " (third-party rule)"
    )
    assert await ham.expect("\r\n") == (
        b"Put in a channel you did not join; left it (third-party rule).\r\n"
    )
    ham.send(b"/c\r")
    assert await ham.expect("\r\n") == b"You are in no channel.\r\n"
    await op.close()
    ham.send(b"/q\r")
    await ham.expect_close()
    assert await gw.stop() == 0
