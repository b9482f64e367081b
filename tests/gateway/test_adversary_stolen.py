"""Adversary suite, finding 1 of issue 19: a code heard on the air is worth nothing off it.

The owner sends a code over the air; a jammer (or fading) keeps that frame from the
gateway; a listener who heard it tries it at once with SASL from elsewhere. The real
gateway runs as a subprocess; the owner comes through a BPQ listener, the thief through
the embedded IRC server, both on loopback.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from gateway.auth import credentials, penalties, totp, users
from gateway.auth.service import Authenticator
from gateway.config import Config
from gateway.irc.hooks import TotpAccounts
from gateway.store import AsyncStore, Store
from tests.gateway.support import Client, GatewayProcess, enroll, free_port, run_cli
from tests.gateway.test_store_auth import AUTH, SECRET, STEP, T0, wrong

Spawn = Callable[[Path], GatewayProcess]
HOME = "telnet:node1:call:N0TEST"


def config_for(tmp_path: Path, bpq: int, irc: int) -> Path:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        f"irc: {{listen: [{{host: 127.0.0.1, port: {irc}}}]}}\n"
        f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {bpq}, bpq: true,"
        f" bytes_per_second: 1000000}}]}}\n"
    )
    return config


async def sasl_client(irc_port: int, account: str, password: str) -> tuple[Client, bytes]:
    """A client that tried SASL PLAIN: it and the rest of the numeric that ended it
    (`3 ...` logged in, `4 ...` refused)."""
    irc = await Client.connect(irc_port, b"CAP LS 302\r\nNICK thief\r\nUSER t 0 * :t\r\n")
    irc.send(b"CAP REQ :sasl\r\n")
    await irc.expect("ACK sasl")
    irc.send(b"AUTHENTICATE PLAIN\r\n")
    await irc.expect("AUTHENTICATE +")
    blob = base64.b64encode(f"\0{account}\0{password}".encode())
    irc.send(b"AUTHENTICATE " + blob + b"\r\n")
    while True:  # 900 says who, 903 logged in, 904 refused
        await irc.expect(" 90")
        answer = await irc.expect("\r\n")
        if not answer.startswith(b"0 "):
            return irc, answer


async def sasl_plain(irc_port: int, account: str, password: str) -> bytes:
    irc, answer = await sasl_client(irc_port, account, password)
    irc.close()
    return answer


async def test_a_code_heard_on_air_does_not_log_in_on_irc(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    bpq, irc_port = free_port(), free_port()
    config = config_for(tmp_path, bpq, irc_port)
    totp = enroll(config, "N0TEST")
    # The owner's node is home (earned over days, or the sysop's word).
    assert run_cli(config, "sources", "trust", "N0TEST", HOME).returncode == 0
    gw = spawn_gateway(config)
    await gw.start()

    # By default a code never logs in on IRC: IRC clients have application passwords.
    assert (await sasl_plain(irc_port, "N0TEST", totp.now())).startswith(b"4 ")
    await gw.wait_log("login codes not allowed on IRC for N0TEST from irc:sasl:ip:127.0.0.1")
    allowed = run_cli(config, "irc-codes", "allow", "N0TEST")
    assert allowed.returncode == 0, allowed.stderr
    # Where the sysop allows it, a code someone got hold of logs in from a new place...
    thief, answer = await sasl_client(irc_port, "N0TEST", totp.now())
    assert answer.startswith(b"3 "), answer
    thief.send(b"CAP END\r\n")
    await thief.expect(" 001 ")

    # ...but never while the owner logs in on the air: the owner is at the Code: prompt,
    # the frame with the code is lost, a listener sends it by SASL: refused unchecked.
    owner = await Client.connect(bpq, b"N0TEST-5\r\n")
    await owner.expect("Code: ")
    code = totp.at(time.time() + 30)  # the app's next code: the last one was used
    assert (await sasl_plain(irc_port, "N0TEST", code)).startswith(b"4 ")
    await gw.wait_log(
        "login code off the air during a radio login for N0TEST from irc:sasl:ip:127.0.0.1"
    )
    # The owner's code (sent again) is still good, and the owner is told both.
    owner.send(code.encode() + b"\r")
    await owner.expect("/? for help.\r\n")
    told = await owner.expect("Not you? /NO\r\n")
    when = rb"\d{4}-\d\d-\d\d \d\d:\d\dZ"
    assert re.fullmatch(
        rb"New login as you with a code from IRC at 127\.0\.0\.1 at " + when + rb"\.\r\n"
        rb"A code for you was tried from IRC at 127\.0\.0\.1 at "
        + when
        + rb", while you logged in on air; refused\.\r\nNot you\? /NO\r\n",
        told,
    ), told
    # One command undoes it: codes off IRC, and the thief's login ends.
    owner.send(b"/no\r")
    assert b"codes no longer log in on IRC as you" in await owner.expect("sysop.\r\n")
    assert b"ERROR" in await thief.expect_close()
    assert "N0TEST\n" not in run_cli(config, "irc-codes", "list").stdout
    owner.send(b"/b\r")
    await owner.expect_close()
    audit = run_cli(config, "audit").stdout
    assert "notme N0TEST" in audit, audit
    assert code not in "\n".join(gw.log), "a code reached the log"
    assert await gw.stop() == 0


async def test_a_code_heard_on_air_stays_refused_off_it_across_a_restart(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    """The owner is at the radio Code: prompt, the code's frame is lost, and the gateway
    dies (kill -9) and comes back: the listener's SASL with that code is still refused,
    as if it had never restarted (the prompt is kept in the store)."""
    bpq, irc_port = free_port(), free_port()
    config = config_for(tmp_path, bpq, irc_port)
    totp = enroll(config, "N0TEST")
    assert run_cli(config, "irc-codes", "allow", "N0TEST").returncode == 0
    gw = spawn_gateway(config)
    await gw.start()
    owner = await Client.connect(bpq, b"N0TEST-5\r\n")
    await owner.expect("Code: ")
    await stored_prompt(tmp_path / "data" / "gateway.db", "N0TEST")
    gw.kill()
    assert await gw.exited() == -9
    owner.close()
    again = spawn_gateway(config)
    await again.start()
    code = totp.now()
    assert (await sasl_plain(irc_port, "N0TEST", code)).startswith(b"4 ")
    await again.wait_log(
        "login code off the air during a radio login for N0TEST from irc:sasl:ip:127.0.0.1"
    )
    assert code not in "\n".join(gw.log + again.log), "a code reached the log"
    assert await again.stop() == 0


async def stored_prompt(db: Path, callsign: str) -> None:
    """Wait until the gateway's store holds `callsign`'s open Code: prompt (written just
    after the prompt is sent)."""
    async with asyncio.timeout(30):
        while True:
            with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
                row = conn.execute(
                    "SELECT open FROM air_prompts WHERE callsign = ?", (callsign,)
                ).fetchone()
            if row is not None and row[0] > 0:
                return
            await asyncio.sleep(0.05)


async def test_an_owner_on_a_new_address_is_not_held_by_guessers(tmp_path: Path) -> None:
    """Finding 6: after 10 wrong codes checked from elsewhere, the owner's SASL login from
    an address never used before was refused (it shares the guessers' lane). An IRC
    client logs in with an application password, which no guessing budget holds."""
    store = await AsyncStore.open(Config(data_dir=tmp_path / "data"))
    auth, now = Authenticator(), T0

    async def check(call: str, code: str, source: str, *, familiar: bool = True) -> bool:
        result = await store.call(auth.attempt, AUTH, call, code, source, now)
        return result.ok

    try:

        def setup(s: Store) -> str:
            with s.transaction():
                s.put_user("N0TEST", SECRET, STEP - 1, T0 - 60)
                users.set_irc_codes(s, "N0TEST", True)
            return credentials.add_app_password(s, "N0TEST", "laptop", T0)[1]

        password = await store.call(setup)
        sasl = TotpAccounts(check, store, lambda: AUTH.source, lambda: now)
        for i in range(12):  # the guessers spend everything the other lane has
            assert await sasl.check_password("N0TEST", wrong(STEP), f"203.0.113.{i}") is None
        budget = await store.call(Store.callsign_state, "N0TEST", "")
        assert not penalties.budget_allows(
            penalties.budget_at(budget, now, AUTH.callsign), AUTH.callsign
        )
        # A code from a new address waits with the guessers (the price of the bound)...
        code = totp.code_at(SECRET, STEP + 1)
        assert await sasl.check_password("N0TEST", code, "198.51.100.77") is None
        # ...an application password from there does not.
        got = await sasl.check_password("N0TEST", password, "198.51.100.77")
        assert got is not None and got.account == "N0TEST"
    finally:
        await store.close()
