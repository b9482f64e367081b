"""Integration: `python -m ircd --config FILE` as a real process, real sockets, real signals."""

from __future__ import annotations

import asyncio
import signal
import socket
import ssl
import subprocess
import sys
import warnings
from pathlib import Path

import argon2

from ircd.passwords import verify_password
from tests.tlscerts import self_signed

CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


async def test_register_join_talk(live_server, live_client) -> None:
    alice = await (await live_client(live_server.port)).register("alice")
    bob = await (await live_client(live_server.port)).register("bob")
    await alice.send("JOIN #ham")
    await alice.expect("366")
    await bob.send("JOIN #ham")
    joined = await alice.expect("JOIN")
    assert joined.source == "bob!~bob@127.0.0.1"
    await bob.send("PRIVMSG #ham :cq cq de bob")
    msg = await alice.expect("PRIVMSG")
    assert msg.params == ("#ham", "cq cq de bob")
    await alice.send("PING :token")
    assert (await alice.expect("PONG")).params[-1] == "token"
    await bob.send("QUIT :73")
    assert (await alice.expect("QUIT")).params == ("Quit: 73",)
    assert (await bob.until_closed())[-1].command == "ERROR"
    await alice.close()
    await bob.close()


async def test_oper_and_kill(start_live_server, live_client) -> None:
    server = start_live_server(f'opers: [{{name: root, password_hash: "{CHEAP.hash("pw")}"}}]\n')
    alice = await (await live_client(server.port)).register("alice")
    bob = await (await live_client(server.port)).register("bob")
    await alice.send("OPER root nope")
    await alice.expect("464")
    await alice.send("OPER root pw")
    await alice.expect("381")
    await alice.send("KILL bob :testing")
    assert (await bob.expect("ERROR")).params[0].endswith("(Killed (alice (testing)))")
    server.wait_for_log("Failed OPER 'root' by alice")  # the notice, logged
    await alice.close()


async def test_sigterm_stops_cleanly(live_server, live_client) -> None:
    alice = await (await live_client(live_server.port)).register("alice")
    live_server.proc.send_signal(signal.SIGTERM)
    error = await alice.expect("ERROR")
    assert error.params[0].endswith("(Server shutting down)")
    assert await asyncio.to_thread(live_server.proc.wait, 10) == 0
    await alice.close()


async def test_ping_timeout_over_sockets(start_live_server, live_client) -> None:
    server = start_live_server("limits: {ping_interval: 1, ping_timeout: 1}\n")
    silent = await live_client(server.port)
    await silent.send("NICK silent", "USER s 0 * :s")
    await silent.expect("376")
    await silent.expect("PING", timeout=5)  # and do not answer it
    closing = await silent.expect("ERROR", timeout=5)
    assert "Ping timeout" in closing.params[0]
    await silent.close()


def test_bad_config_exit_code(tmp_path: Path) -> None:
    path = tmp_path / "irc.yaml"
    path.write_text("irc:\n  listen:\n    - {host: 127.0.0.1, port: 80x}\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ircd", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert f'{path}:3: irc.listen[0].port: expected an integer 1-65535, got "80x"' in result.stderr


def test_hash_password_from_stdin() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ircd", "hash-password"],
        input="s3cret\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    encoded = result.stdout.strip()
    assert encoded.startswith("$argon2id$")
    assert verify_password(encoded, "s3cret")
    assert "s3cret" not in result.stdout + result.stderr


async def test_tls_listener(tmp_path: Path, start_live_server, live_client) -> None:
    cert, key, _ = self_signed(tmp_path)
    server = start_live_server(tls=(cert, key))
    tls_port = server.tls_port
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    alice = await (await live_client(tls_port, ssl_context=context)).register("alice")
    await alice.send("WHOIS alice")
    assert (await alice.expect("671")).params[-1] == "is using a secure connection"
    old = ssl.create_default_context(cafile=str(cert))
    old.check_hostname = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        await live_client(tls_port, ssl_context=old)
    except (ssl.SSLError, ConnectionError):
        pass
    else:
        raise AssertionError("TLS 1.1 must be refused")
    assert server.proc.poll() is None
    await alice.close()


async def test_sighup_reloads_and_keeps_old_on_error(live_server, live_client) -> None:
    alice = await (await live_client(live_server.port)).register("alice")
    text = live_server.config_path.read_text(encoding="utf-8")
    live_server.config_path.write_text(
        text.replace("motd: hello", "motd: new motd"), encoding="utf-8"
    )
    live_server.proc.send_signal(signal.SIGHUP)
    live_server.wait_for_log("configuration reloaded")
    await alice.send("MOTD")
    assert (await alice.expect("372")).params[-1] == "- new motd"
    live_server.config_path.write_text(
        text.replace("motd: hello", "motd: [broken"), encoding="utf-8"
    )
    live_server.proc.send_signal(signal.SIGHUP)
    live_server.wait_for_log("reload failed, keeping the current configuration")
    await alice.send("MOTD")
    assert (await alice.expect("372")).params[-1] == "- new motd"
    await alice.close()


def test_port_in_use_exits_1(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        path = tmp_path / "irc.yaml"
        path.write_text(f"listen: [{{host: 127.0.0.1, port: {port}}}]\n", encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "ircd", "--config", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert "cannot listen" in result.stderr
