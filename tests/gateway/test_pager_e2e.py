"""The pager and a reload over a real socket in a BPQ listener's shape: `gateway run`,
a user sending its callsign first, an IRC client in the same channel. Each wait is on
text or a message, never a sleep."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

from gateway.session.chatcommands import HELP_TEXT
from tests.gateway.support import Client, GatewayProcess, enroll, free_port
from tests.gateway.test_bridge_e2e import radio_login
from tests.ircd.conftest import LiveClient

Spawn = Callable[[Path], GatewayProcess]
MORE = "more? (Enter/N) "


def pager_config(tmp_path: Path, bpq: int, irc: int, pace: str, page_lines: int) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        "auth: {failure_pause: 0}\n"
        f"irc:\n  listen: [{{host: 127.0.0.1, port: {irc}}}]\n"
        "telnet:\n  listen:\n"
        f"    - {{name: node1, host: 127.0.0.1, port: {bpq}, bpq: true, {pace}}}\n"
        f"bridge:\n  third_party: all\n  page_lines: {page_lines}\n  autojoin: ['#test']\n"
    )
    return path


async def _start(
    tmp_path: Path, spawn: Spawn, pace: str, page_lines: int
) -> tuple[GatewayProcess, Client, LiveClient]:
    bpq, irc_port = free_port(), free_port()
    config = pager_config(tmp_path, bpq, irc_port, pace, page_lines)
    totp = enroll(config, "N0TEST")
    gw = spawn(config)
    await gw.start()
    ham = await radio_login(bpq, "N0TEST-5", totp.now())
    await ham.expect("Joined #test")
    await ham.expect("\r\n")
    irc = await LiveClient.connect(irc_port)
    await irc.register("alice")
    await irc.send("JOIN #test")
    await irc.expect("366")
    return gw, ham, irc


async def _irc_text_until(irc: LiveClient, marker: str) -> list[str]:
    """The channel texts alice receives up to and including `marker`."""
    texts: list[str] = []
    while not texts or texts[-1] != marker:
        msg = await irc.expect("PRIVMSG")
        texts.append(msg.params[-1])
    return texts


async def test_an_empty_line_stops_a_long_answer_at_once(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    # Paced slowly (a direct link the sysop paces): the gateway still holds most of /?
    # when the empty line comes, and none of it may follow the empty line.
    gw, ham, irc = await _start(
        tmp_path, spawn_gateway, "bytes_per_second: 40, packet_bytes: 64, burst_bytes: 0", 0
    )
    ham.send(b"/?\r")
    first = await ham.expect("\r\n")
    assert first.startswith(b"Commands")
    ham.send(b"\r")
    stopped = await ham.expect("(output stopped)\r\n")
    ham.send(b"/i\r")
    after = await ham.expect("You are N0TEST-5")
    assert after == b"You are N0TEST-5"  # nothing of the help after the stop
    shown = first + stopped
    assert len(shown) < len(HELP_TEXT) // 2  # it was cut well before its end
    assert HELP_TEXT.split("\n")[-1].encode() not in shown
    await irc.close()
    assert await gw.stop() == 0


async def test_an_empty_line_keeps_the_answers_of_commands_typed_after_the_stopped_one(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    # Walk report finding 6: commands typed ahead ran; an empty line stopping the
    # answer being shown must not throw away their answers.
    gw, ham, irc = await _start(
        tmp_path, spawn_gateway, "bytes_per_second: 40, packet_bytes: 64, burst_bytes: 0", 0
    )
    await irc.send("JOIN #sidefx")
    await irc.expect("366")
    ham.send(b"/?\r")
    assert (await ham.expect("\r\n")).startswith(b"Commands")
    ham.send(b"/J #sidefx\rchat line\r/I\r")
    # The chat line reached IRC: the join happened and /I ran, while /? still flows.
    assert await _irc_text_until(irc, "chat line") == ["chat line"]
    ham.send(b"\r")
    await ham.expect("(output stopped)\r\n")
    after = await ham.expect("You are N0TEST-5")
    assert b"Joined #sidefx" in after and b"Commands" not in after
    assert HELP_TEXT.split("\n")[-1].encode() not in after  # the help stayed stopped
    await irc.close()
    assert await gw.stop() == 0


async def test_more_stays_live_and_lines_typed_meanwhile_run_when_the_page_is_out(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    # The BPQ shape, output not held back; a page takes several 64-byte chunks.
    pace = "bytes_per_second: 1000000, packet_bytes: 64"
    gw, ham, irc = await _start(tmp_path, spawn_gateway, pace, 4)
    # Typed ahead in one go (so both reach the gateway before the prompt is out): a
    # chat line typed while the page flows, not an answer to more?.
    ham.send(b"/?\rtyped during the page\r")
    page = await ham.expect(MORE)
    assert page.startswith(b"Commands") and page.count(b"\r\n") == 4
    assert await _irc_text_until(irc, "typed during the page") == ["typed during the page"]

    # A line from IRC while more? is on screen: held; N still answers the prompt.
    await irc.send("PRIVMSG #test :between the page and N")
    await irc.send("PING :sync")
    await irc.expect("PONG")
    ham.send(b"N\r")
    assert await ham.expect("\r\n") == b"alice: between the page and N\r\n"
    ham.send(b"marker\r")
    assert await _irc_text_until(irc, "marker") == ["marker"]  # N was not a chat line

    # A command typed during a page runs once the page is out, answered below the
    # prompt, and the prompt is shown again: Enter then gives the next page.
    ham.send(b"/?\r/i\rsecond\r")
    page = await ham.expect(MORE)
    assert page.startswith(b"Commands")
    assert await _irc_text_until(irc, "second") == ["second"]
    info = await ham.expect(MORE)
    assert info.startswith(b"You are N0TEST-5") and info.count(b"\r\n") == 1
    ham.send(b"\r")
    nxt = await ham.expect(MORE)
    assert nxt.count(b"\r\n") == 4 and b"Commands" not in nxt
    ham.send(b"n\r")
    ham.send(b"/b\r")
    assert (await ham.expect_close()).endswith(b"73!\r\n")
    await irc.close()
    assert await gw.stop() == 0


async def test_a_sighup_of_third_party_applies_to_a_logged_in_user(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    gw, ham, irc = await _start(tmp_path, spawn_gateway, "bytes_per_second: 1000000", 20)
    await irc.send("PRIVMSG #test :before the reload")  # alice has no account
    assert await ham.expect("\r\n") == b"alice: before the reload\r\n"
    config = gw.config
    config.write_text(config.read_text().replace("third_party: all", "third_party: identified"))
    mark = len(gw.log)
    assert gw.proc is not None
    gw.proc.send_signal(signal.SIGHUP)
    await gw.wait_log("configuration reloaded", mark)
    await irc.send("PRIVMSG #test :after the reload")
    refused = await irc.expect("NOTICE")
    assert "Not sent on air to N0TEST-5" in refused.params[-1]
    ham.send(b"/i\r")
    assert (await ham.expect("You are N0TEST-5")) == b"You are N0TEST-5"  # nothing before it
    await irc.close()
    assert await gw.stop() == 0
