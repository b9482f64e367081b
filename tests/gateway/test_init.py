"""`gateway init`: what it writes and prints, refusals, and a gateway run on its config."""

from __future__ import annotations

import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from gateway.cli.init import Answers, InitError, bpq_lines, check, render_config, run_init
from gateway.config import load_config
from gateway.store import StoreError
from tests.gateway.support import GatewayProcess, free_port, run_cli

Spawn = Callable[[Path], GatewayProcess]


def init_cli(config: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "--config", str(config), "init", *flags],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_node_lines_name_the_telnet_port_and_the_cmdport() -> None:
    text = bpq_lines(Answers(Path("/c.yaml"), Path("/d"), bpq_port=8011, bpq_portnum=3))
    assert "DRIVER=TELNET and PORTNUM=3" in text
    assert "\n    CMDPORT 8011\n" in text
    assert "\n    APPLICATION 1,IRC,C 3 HOST 0 S\n" in text


def test_bad_answers_are_refused_one_by_one() -> None:
    base = Answers(Path("c.yaml"), Path("d"))
    with pytest.raises(InitError, match=r'callsign: expected a callsign .*got "N0/GW"'):
        check(Answers(base.config, base.data_dir, callsign="N0/GW"))
    with pytest.raises(InitError, match="a KISS TNC needs the gateway's callsign"):
        check(Answers(base.config, base.data_dir, kiss="127.0.0.1:8001"))
    with pytest.raises(InitError, match='kiss: expected HOST:PORT or a serial device, got "x:y"'):
        check(Answers(base.config, base.data_dir, callsign="N0GW-10", kiss="x:y"))
    with pytest.raises(InitError, match="bpq-portnum: expected"):
        check(Answers(base.config, base.data_dir, bpq_portnum=0))
    with pytest.raises(InitError, match="nothing for radio users to reach"):
        check(Answers(base.config, base.data_dir, bpq_port=None))
    assert check(Answers(base.config, base.data_dir, callsign="n0gw-10")).callsign == "N0GW-10"


def test_the_config_says_only_what_was_asked() -> None:
    a = check(Answers(Path("/etc/gw.yaml"), Path("/var/lib/gw"), callsign="N0GW-10",
                      kiss="/dev/ttyUSB0", kiss_baud=1200))  # fmt: skip
    text = render_config(a, date(2026, 12, 7))
    assert text.startswith("# Packet IRC Gateway, written by `gateway init` on 2026-12-07.")
    assert 'data_dir: "/var/lib/gw"\n' in text and "callsign: N0GW-10\n" in text
    assert "port: 8023, bpq: true, idle_timeout: 840}" in text
    assert '- {name: radio, serial: "/dev/ttyUSB0", baud: 1200}' in text


def test_a_path_with_yaml_syntax_in_it_stays_whole(tmp_path: Path) -> None:
    data = tmp_path / "my data #1: here"
    run_init(Answers(tmp_path / "gw.yaml", data), [].append)
    assert (data / "secret.key").exists()
    assert load_config(tmp_path / "gw.yaml").data_dir == data


def test_a_config_that_cannot_be_used_is_not_left_behind(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    with pytest.raises(StoreError):
        run_init(Answers(tmp_path / "gw.yaml", blocked / "data"), [].append)
    assert not (tmp_path / "gw.yaml").exists()


def test_an_existing_config_is_never_overwritten_and_a_key_is_kept(tmp_path: Path) -> None:
    config = tmp_path / "gw.yaml"
    said: list[str] = []
    run_init(Answers(config, tmp_path / "data"), said.append)
    key = tmp_path / "data" / "secret.key"
    first_key, first_config = key.read_bytes(), config.read_text()
    assert f"created the secret key {key}; back it up apart" in said
    with pytest.raises(InitError, match="already exists; not overwritten"):
        run_init(Answers(config, tmp_path / "data", irc_port=7000), said.append)
    assert config.read_text() == first_config
    again: list[str] = []
    run_init(Answers(tmp_path / "other.yaml", tmp_path / "data"), again.append)
    assert key.read_bytes() == first_key
    assert f"kept the existing secret key {key}; back it up apart" in again


async def test_init_then_check_config_then_run(tmp_path: Path, spawn_gateway: Spawn) -> None:
    config = tmp_path / "etc" / "gateway.yaml"
    bpq, irc = free_port(), free_port()
    done = init_cli(config, "--data-dir", str(tmp_path / "state"), "--bpq-port", str(bpq),
                    "--bpq-portnum", "3", "--irc-port", str(irc), "--non-interactive")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"\n    CMDPORT {bpq}\n" in done.stdout
    assert "\n    APPLICATION 1,IRC,C 3 HOST 0 S\n" in done.stdout
    for path in (config, tmp_path / "state" / "secret.key", tmp_path / "state" / "gateway.db"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    checked = run_cli(config, "check-config")
    assert checked.returncode == 0 and checked.stdout.startswith(f"{config}: OK"), checked
    gw = spawn_gateway(config)
    await gw.start()
    await gw.wait_log(f"listening on 127.0.0.1:{bpq} \\(BPQ, callsign first\\)")
    await gw.wait_log(f"IRC server listening on 127.0.0.1:{irc}")
    assert await gw.stop() == 0
    again = init_cli(config, "--non-interactive")
    assert again.returncode == 1 and "already exists; not overwritten" in again.stderr
