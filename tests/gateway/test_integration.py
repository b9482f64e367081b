"""The spine end to end: the real CLI and `gateway run` as subprocesses, real sockets."""

from __future__ import annotations

import base64
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest

from ircd.passwords import hash_password
from tests.gateway.support import Client, GatewayProcess, enroll, free_port, run_cli

Spawn = Callable[[Path], GatewayProcess]


def write_config(tmp_path: Path, ports: dict[str, int], irc_port: int = 0) -> Path:
    fast = "bytes_per_second: 1000000, packet_bytes: 4096"
    listeners = ""
    for name, port in ports.items():
        mode = "bpq: false, max_per_ip: 1" if name == "direct" else "bpq: true"
        listeners += f"    - {{name: {name}, host: 127.0.0.1, port: {port}, {mode}, {fast}}}\n"
    path = tmp_path / "gateway.yaml"
    path.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        "auth:\n  failure_pause: 0\n"
        "  source_penalty: {per_failure: 30, grace: 60, max: 600}\n"
        f"irc:\n  listen:\n    - {{host: 127.0.0.1, port: {irc_port or free_port()}}}\n"
        f"telnet:\n  listen:\n{listeners}"
    )
    return path


def wrong_code(totp: pyotp.TOTP) -> str:
    now = time.time()
    valid = {totp.at(now + 30 * k) for k in range(-3, 4)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in valid)


async def login(port: int, first: bytes, code: str) -> tuple[Client, bytes]:
    client = await Client.connect(port, first)
    await client.expect("Code: ")
    client.send(code.encode() + b"\r")
    return client, await client.expect("/? for help.\r\n")


async def test_enroll_login_replay_penalties_restart(tmp_path: Path, spawn_gateway: Spawn) -> None:
    ports = {"node1": free_port(), "node2": free_port(), "direct": free_port()}
    config = write_config(tmp_path, ports)
    totp = enroll(config, "n0test")  # confirmed with the previous step's code
    step = int(time.time() // 30)
    code_now, code_next = totp.at(step * 30), totp.at((step + 1) * 30)

    gw = spawn_gateway(config)
    await gw.start()
    for port in ports.values():
        await gw.wait_log(f"listening on 127.0.0.1:{port}")

    # A BPQ node: callsign with SSID first, CR line ends.
    client, greeting = await login(ports["node1"], b"N0TEST-5\r\n", code_now)
    assert b"Welcome N0TEST-5" in greeting
    client.send(b"I\r")
    assert b"You are N0TEST-5, via BPQ node1" in await client.expect("\r\n")
    client.send(b"B\r")
    assert b"73!" in await client.expect_close()

    # The same code again, from another node: refused.
    client = await Client.connect(ports["node2"], b"N0TEST-7\r\n")
    await client.expect("Code: ")
    client.send(code_now.encode() + b"\r")
    await client.expect("Login failed.")
    client.close()
    await gw.wait_log(r"login replayed code for N0TEST from telnet:node2:call:N0TEST")

    # Wrong codes from node1 accrue a penalty for that source.
    client = await Client.connect(ports["node1"], b"N0TEST\r\n")
    bad = wrong_code(totp)
    for _ in range(3):
        await client.expect("Code: ")
        client.send(bad.encode() + b"\r")
        await client.expect("Login failed.")
    await client.expect_close()
    await gw.wait_log(r"login wrong code for N0TEST from telnet:node1")
    await gw.wait_log(r"N0TEST on BPQ node1: session ends \(login refused\)")

    assert await gw.stop() == 0
    log_before = list(gw.log)

    gw = spawn_gateway(config)
    await gw.start()
    mark = len(gw.log)
    # After a restart the penalty still holds: even a valid code is not checked there.
    client = await Client.connect(ports["node1"], b"N0TEST\r\n")
    await client.expect("Code: ")
    client.send(code_next.encode() + b"\r")
    await client.expect("Login failed.")
    client.close()
    await gw.wait_log(r"login source under penalty for N0TEST from telnet:node1", mark)
    # A different source is not locked out by it.
    client, greeting = await login(ports["node2"], b"N0TEST-7\r\n", code_next)
    assert b"Welcome N0TEST-7" in greeting

    users = run_cli(config, "users")
    assert users.returncode == 0 and "N0TEST" in users.stdout
    assert "telnet:node1:call:N0TEST" in users.stdout  # the refused source is listed

    # SIGTERM: the logged-in user gets a goodbye line.
    assert await gw.stop() == 0
    assert b"Gateway shutting down. 73!" in await client.expect_close()

    # The secret is nowhere on disk in clear nor in any log; codes are not logged.
    logs = "\n".join(log_before + gw.log)
    assert totp.secret not in logs
    for code in (code_now, code_next, bad):
        assert code not in logs
    data_dir = tmp_path / "data"
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    raw_secret = base64.b32decode(totp.secret)
    for path in data_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        content = path.read_bytes()
        assert totp.secret.encode() not in content and raw_secret not in content, path


async def test_bpq_details_limits_and_reload(tmp_path: Path, spawn_gateway: Spawn) -> None:
    ports = {"node1": free_port(), "direct": free_port()}
    irc_port = free_port()
    config = write_config(tmp_path, ports, irc_port)
    totp = enroll(config, "K1ABC")
    gw = spawn_gateway(config)
    await gw.start()

    # The embedded IRC server is up with the gateway.
    await gw.wait_log(f"IRC server listening on 127.0.0.1:{irc_port}")
    irc = await Client.connect(irc_port, b"NICK op1\r\nUSER op1 0 * :Op One\r\n")
    assert b" 001 op1 " in await irc.expect("\r\n")
    irc.close()
    # An enrolled callsign is not free for anyone on IRC.
    squatter = await Client.connect(irc_port, b"NICK K1ABC-2\r\nUSER x 0 * :x\r\n")
    assert b"K1ABC is a licensed callsign" in await squatter.expect("SASL")
    squatter.close()

    # Telnet negotiation is stripped; an over-long line is refused and the session goes on.
    client, _ = await login(ports["node1"], b"\xff\xfb\x01K1ABC-2\r\n", totp.now())
    client.send(b"x" * 1000 + b"\r")
    await client.expect("Line too long (max 256).\r\n")
    client.send(b"I\r")
    assert b"You are K1ABC-2" in await client.expect("\r\n")
    # The node's disconnect notice ends the session like a hang-up.
    client.send(b"*** Disconnected from Stream 10\r\n")
    await client.expect_close()
    await gw.wait_log(r"K1ABC-2 logged out")

    # A node line with NOCALL sends nothing: after a second the gateway asks.
    nocall = await Client.connect(ports["node1"])
    await nocall.expect("Callsign: ")
    nocall.send(b"K1ABC-3\r")
    assert b"IRC gateway\r\nCode: " in await nocall.expect("Code: ")
    nocall.send(b"bye\r")  # leaving at the code prompt is not a failure
    assert (await nocall.expect_close()).endswith(b"73!\r\n")

    # Prompt mode; a second connection from the same address is refused (max_per_ip 1).
    first = await Client.connect(ports["direct"])
    await first.expect("Callsign: ")
    second = await Client.connect(ports["direct"])
    assert b"Connection refused." in await second.expect_close()
    first.send(b"not a call\r\n")
    await first.expect("Not a valid callsign.")
    # Enter alone, ? and Q are no tries: asked again, told what to type, left politely.
    first.send(b"\r\n\r\n\r\n?\r\n")
    told = await first.expect("B leaves.\r\nCallsign: ")
    # The prompt after the refusal, one per Enter, one after the help.
    assert told.count(b"Callsign: ") == 5 and b"Not a valid" not in told
    first.send(b"q\r\n")
    assert await first.expect_close() == b"73!\r\n"
    first.close()

    # A revocation from the CLI ends a live session without a restart.
    step = int(time.time() // 30)
    client, _ = await login(ports["node1"], b"K1ABC\r\n", totp.at((step + 1) * 30))
    assert run_cli(config, "revoke", "k1abc").returncode == 0
    assert b"Your access has been revoked." in await client.expect_close()

    # SIGHUP: a new listener appears; a broken file is refused and the old config kept.
    new_port = free_port()
    config.write_text(config.read_text() + f"    - {{host: 127.0.0.1, port: {new_port}}}\n")
    assert gw.proc is not None
    gw.proc.send_signal(signal.SIGHUP)
    await gw.wait_log(f"listening on 127.0.0.1:{new_port}")
    probe = await Client.connect(new_port, b"N0TEST\r\n")
    await probe.expect("Code: ")
    probe.close()
    # A new log level applies at once: a login prompt's INFO lines are gone after it.
    good = "log_level: warning\n" + config.read_text()
    config.write_text(good)
    gw.proc.send_signal(signal.SIGHUP)
    await gw.wait_log(r"log level now warning")
    quiet_from = len(gw.log)
    probe = await Client.connect(new_port, b"N0TEST\r\n")
    await probe.expect("Code: ")
    probe.close()
    config.write_text(good + "    - {port: nope}\n")
    gw.proc.send_signal(signal.SIGHUP)
    await gw.wait_log(r"reload failed, keeping the running config", quiet_from)
    assert any('port: expected an integer 1-65535, got "nope"' in line for line in gw.log)
    assert not [line for line in gw.log[quiet_from:] if " INFO " in line]
    assert await gw.stop() == 0


async def test_safelist_refuses_with_one_line(tmp_path: Path, spawn_gateway: Spawn) -> None:
    port = free_port()
    config = tmp_path / "c.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'd'}\nirc: {{listen: [{{host: 127.0.0.1, port: {free_port()}}}]}}\n"
        "telnet:\n  listen:\n"
        f"    - {{port: {port}, allow: [10.0.0.0/8, 'fd00::/8']}}\n"
    )
    gw = spawn_gateway(config)
    await gw.start()
    client = await Client.connect(port)
    assert await client.expect_close() == b"Connection refused.\r\n"
    await gw.wait_log("refused 127.0.0.1 .*not in safelist")
    assert await gw.stop() == 0


def test_cli_errors_and_modes(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("telnet:\n  listen:\n    - {host: 127.0.0.1, port: 80x}\n")
    result = run_cli(config, "check-config")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f'{config}:3: telnet.listen[0].port: expected an integer 1-65535, got "80x"'
    )
    good = tmp_path / "good.yaml"
    good.write_text(f"data_dir: {tmp_path / 'd'}\n")
    assert run_cli(good, "check-config").returncode == 0
    assert "not a valid base callsign" in run_cli(good, "enroll", "N0TEST-5").stderr
    # A wrong confirmation code stores nothing.
    result = run_cli(
        good, "enroll", "N0TEST", "--qr-png", str(tmp_path / "q.png"), stdin="000000\n"
    )
    assert result.returncode == 1 and "nothing was stored" in result.stderr
    assert stat.S_IMODE((tmp_path / "q.png").stat().st_mode) == 0o600
    assert (tmp_path / "q.png").read_bytes().startswith(b"\x89PNG")
    assert "no callsigns enrolled" in run_cli(good, "users").stdout
    enroll(good, "N0TEST")
    again = run_cli(good, "enroll", "N0TEST", stdin="000000\n")
    assert again.returncode == 1 and "--replace" in again.stderr
    assert "0 penalty" in run_cli(good, "unlock", "192.0.2.1").stdout
    os.chmod(tmp_path / "d", 0o755)
    exposed = run_cli(good, "users")
    assert exposed.returncode == 1 and "chmod 700" in exposed.stderr


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"]])
def test_help(tmp_path: Path, argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", *argv], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and "usage: gateway" in result.stdout


async def test_repeated_failures_alert_irc_operators(tmp_path: Path, spawn_gateway: Spawn) -> None:
    node, irc_port = free_port(), free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        "auth:\n  failure_pause: 0\n  attempts_per_connection: 5\n"
        "  source_penalty: {per_failure: 1, grace: 600, max: 700}\n"
        "  callsign_delay: {free_failures: 5, warn_after: 5}\n"
        f"irc:\n  listen: [{{host: 127.0.0.1, port: {irc_port}}}]\n"
        f"  opers: [{{name: sysop, password_hash: '{hash_password('s3cret')}'}}]\n"
        f"telnet:\n  listen: [{{host: 127.0.0.1, port: {node}, bytes_per_second: 100000}}]\n"
    )
    gw = spawn_gateway(config)
    await gw.start()
    oper = await Client.connect(irc_port, b"NICK sysop\r\nUSER sysop 0 * :Sysop\r\n")
    await oper.expect(" 001 ")
    oper.send(b"OPER sysop s3cret\r\n")
    await oper.expect(" 381 ")
    client = await Client.connect(node, b"N0TEST\r\n")
    for _ in range(5):
        await client.expect("Code: ")
        client.send(b"000000\r")
        await client.expect("Login failed.")
    line = await oper.expect("guessing attack on N0TEST: 5 wrong codes checked")
    assert b"NOTICE" in line
    oper.close()
    client.close()
    assert await gw.stop() == 0


async def test_irc_user_takes_callsign_nick_with_sasl(tmp_path: Path, spawn_gateway: Spawn) -> None:
    irc_port = free_port()
    config = write_config(tmp_path, {"node1": free_port()}, irc_port)
    totp = enroll(config, "K2ABC")
    assert run_cli(config, "irc-codes", "allow", "K2ABC").returncode == 0
    gw = spawn_gateway(config)
    await gw.start()
    irc = await Client.connect(irc_port, b"CAP LS 302\r\nNICK K2ABC\r\nUSER k2 0 * :Ham\r\n")
    irc.send(b"CAP REQ :sasl\r\n")
    await irc.expect("ACK sasl")
    irc.send(b"AUTHENTICATE PLAIN\r\n")
    await irc.expect("AUTHENTICATE +")
    wrong = base64.b64encode(b"\0K2ABC\0" + wrong_code(totp).encode())
    irc.send(b"AUTHENTICATE " + wrong + b"\r\n")
    await irc.expect(" 904 ")  # a wrong code fails like any other failure
    irc.send(b"AUTHENTICATE PLAIN\r\n")
    await irc.expect("AUTHENTICATE +")
    irc.send(b"AUTHENTICATE " + base64.b64encode(b"\0k2abc\0" + totp.now().encode()) + b"\r\n")
    assert b"K2ABC" in await irc.expect(" 903 ")
    irc.send(b"CAP END\r\n")
    await irc.expect(" 001 K2ABC ")  # the reserved nick is theirs
    irc.close()
    await gw.wait_log("login ok for K2ABC from irc:sasl")
    assert await gw.stop() == 0
