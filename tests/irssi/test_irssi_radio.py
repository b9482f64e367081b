"""irssi and the radio side: a radio user is an ordinary nick; RADIO replies read as lines.

`gateway run` with a BPQ listener; a BPQ-style user logs in and joins #ham; irssi (in
tmux, as in test_irssi.py) joins, talks with the radio user, opers up and runs
`/quote RADIO SESSIONS` and `/quote RADIO KICK`; what irssi shows is read from its logs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gateway.support import Client, GatewayProcess, enroll
from tests.irssi.test_irssi import (
    CHANNEL,
    NICK,
    OPER_NAME,
    OPER_PASSWORD,
    Irssi,
    free_port,
    hash_password,
    needs_irssi,
)

pytestmark = [pytest.mark.slow, needs_irssi]


async def test_irssi_sees_radio_users_and_reads_radio_replies(tmp_path: Path, irssi: Irssi) -> None:
    bpq, irc_port = free_port(), free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nauth: {{failure_pause: 0}}\n"
        f"irc:\n  listen: [{{host: 127.0.0.1, port: {irc_port}}}]\n"
        f'  opers: [{{name: {OPER_NAME}, password_hash: "{hash_password(OPER_PASSWORD)}"}}]\n'
        f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {bpq},"
        " bytes_per_second: 100000}]}\nbridge: {third_party: all}\n"
    )
    totp = enroll(config, "N0TEST")
    gw = GatewayProcess(config)
    await gw.start()
    try:
        ham = await Client.connect(bpq, b"N0TEST-5\r\n")
        await ham.expect("Code: ")
        ham.send(totp.now().encode() + b"\r")
        await ham.expect("/? for help.\r\n")
        ham.send(f"/j {CHANNEL}\r".encode())
        await ham.expect("1 user.\r\n")

        irssi.start("-notls", "127.0.0.1", irc_port)
        await irssi.wait_log(r"Welcome to the PacketNet IRC Network " + NICK)
        irssi.type(f"/join {CHANNEL}")
        await irssi.wait_log(rf"{NICK}.*has joined {CHANNEL}")
        irssi.type("good evening, radio")
        assert (await ham.expect("radio\r\n")).endswith(f"{NICK}: good evening, radio\r\n".encode())
        ham.send(b"73 from the air\r")
        await irssi.wait_log(r"<.?N0TEST-5> 73 from the air")

        irssi.type(f"/oper {OPER_NAME} {OPER_PASSWORD}")
        await irssi.wait_log(r"You are now an IRC operator")
        irssi.type("/quote RADIO SESSIONS")
        await irssi.wait_log(r"N0TEST-5 \(N0TEST-5\) via BPQ node1, since \S+ \S+, idle \d+s")
        await irssi.wait_log(r"1 radio session\(s\)\.")
        irssi.type("/quote RADIO KICK N0TEST-5 net closed")
        await irssi.wait_log(r"ended the radio session of N0TEST-5")
        assert (await ham.expect_close()).endswith(b"Disconnected by irssinick: net closed\r\n")
        await irssi.wait_log(r"N0TEST-5.*has quit")
        irssi.type("/quit 73")
    finally:
        await gw.stop()
