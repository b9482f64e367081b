"""`gateway status`: the snapshot's verdict (pure), and the real CLI beside a real gateway."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from gateway import health, settingstore
from gateway.config import Config
from gateway.health import Snapshot, verdict
from gateway.store import Store
from tests.gateway.support import GatewayProcess, free_port, run_cli

Spawn = Callable[[Path], GatewayProcess]
UP = Snapshot(
    pid=42, started=0.0, listeners=("127.0.0.1:8023",), listeners_wanted=1,
    irc="embedded 127.0.0.1:6667", radio={"vhf": "TNC up"}, mqtt=True,
)  # fmt: skip


def test_everything_up_is_running() -> None:
    code, line = verdict((UP, 1000.0, 500.0), 42, 510.0)
    assert code == health.OK
    assert line == (
        "running: pid 42, IRC embedded 127.0.0.1:6667, telnet 1/1 listening,"
        " radio vhf: TNC up, MQTT connected"
    )


def test_what_is_down_is_named_and_the_code_says_degraded() -> None:
    down = Snapshot(
        pid=42, started=0.0, listeners=(), listeners_wanted=1, irc="external irc.test:6697",
        radio={"vhf": "TNC down, reconnecting", "hf": "TNC up"}, mqtt=False,
    )  # fmt: skip
    code, line = verdict((down, 1000.0, 500.0), 42, 510.0)
    assert code == health.DEGRADED
    assert line.startswith(
        "degraded (1 telnet listener(s) down; radio vhf TNC down, reconnecting;"
        " MQTT broker disconnected): pid 42"
    )


def test_not_running_stale_and_someone_elses_snapshot() -> None:
    assert verdict((UP, 1000.0, 500.0), None, 510.0) == (health.NOT_RUNNING, "not running")
    code, line = verdict((UP, 1000.0, 500.0), 42, 500.0 + health.STALE_AFTER + 1)
    assert code == health.NOT_RESPONDING and "last reported 91 s ago" in line
    # Written before this boot (the monotonic clock starts again): not trusted either.
    assert verdict((UP, 1000.0, 500.0), 42, 100.0)[0] == health.NOT_RESPONDING
    # A snapshot left by an earlier process (another PID) says nothing of this one.
    code, line = verdict((UP, 1000.0, 500.0), 43, 510.0)
    assert code == health.NOT_RESPONDING and "has not reported" in line
    assert verdict(None, 43, 510.0)[0] == health.NOT_RESPONDING


def test_the_service_notices_waiting_and_dropped_are_shown() -> None:
    """On a network the service's notices wait for its flood limit (bridge/noticequeue.py):
    how many wait and how many were dropped, on the line; neither degrades the verdict."""
    busy = replace(UP, notices_waiting=12, notices_dropped=3)
    code, line = verdict((busy, 1000.0, 500.0), 42, 510.0)
    assert code == health.OK
    assert line.endswith(", MQTT connected, service notices: 12 waiting, 3 dropped")
    assert "service notices" not in verdict((UP, 1000.0, 500.0), 42, 510.0)[1]  # no bridge
    # Waiting moves all the time: not a change to write at once (the heartbeat does);
    # a notice dropped is.
    assert replace(busy, notices_waiting=0) == busy
    assert replace(busy, notices_dropped=4) != busy


def test_a_snapshot_round_trips_the_store_and_an_older_one_still_reads(tmp_path: Path) -> None:
    store = Store.open(Config(data_dir=tmp_path / "data"))
    try:
        busy = replace(UP, notices_waiting=7, notices_dropped=1)
        health.record(store, busy, 1000.0, 500.0)
        last = health.read(store)
        assert last is not None and last[0].notices_waiting == 7
        assert last[0].notices_dropped == 1
        older = json.loads(settingstore.get_setting(store, health.STATUS_SETTING) or "")
        del older["snapshot"]["notices_waiting"], older["snapshot"]["notices_dropped"]
        settingstore.set_setting(store, health.STATUS_SETTING, json.dumps(older))
        last = health.read(store)
        assert last is not None and last[0].notices_waiting is None  # written before them
        assert "service notices" not in verdict(last, 42, 510.0)[1]
    finally:
        store.close()


async def test_status_of_a_real_gateway_with_its_tnc_away(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    config = tmp_path / "gateway.yaml"
    bpq, irc, tnc = free_port(), free_port(), free_port()  # nothing listens on the TNC's port
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\ncallsign: N0GW-10\n"
        f"irc: {{listen: [{{host: 127.0.0.1, port: {irc}}}]}}\n"
        f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {bpq}}}]}}\n"
        f'radio: {{ports: [{{name: vhf, tcp: "127.0.0.1:{tnc}"}}]}}\n'
    )
    stopped = run_cli(config, "status")
    assert (stopped.returncode, stopped.stdout) == (health.NOT_RUNNING, "not running\n")
    gw = spawn_gateway(config)
    await gw.start()
    await gw.wait_log("vhf: cannot reach the TNC")
    status = run_cli(config, "status")
    assert status.returncode == health.DEGRADED, status.stdout + status.stderr
    assert status.stdout.startswith("degraded (radio vhf ")
    assert f"IRC embedded 127.0.0.1:{irc}, telnet 1/1 listening" in status.stdout
    assert status.stdout.endswith(", service notices: 0 waiting, 0 dropped\n")
    assert await gw.stop() == 0
    assert run_cli(config, "status").returncode == health.NOT_RUNNING


async def test_a_second_gateway_on_the_same_data_dir_is_refused(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    data = tmp_path / "data"
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    for config in (first, second):
        config.write_text(
            f"data_dir: {data}\n"
            f"irc: {{listen: [{{host: 127.0.0.1, port: {free_port()}}}]}}\n"
            f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {free_port()}}}]}}\n"
        )
    gw = spawn_gateway(first)
    await gw.start()
    refused = run_cli(second, "run")
    assert refused.returncode == 1
    assert f"another gateway is running on {data} (PID {gw.proc.pid})" in refused.stderr
    assert "Traceback" not in refused.stderr
    # The first one is untouched: its PID file and status still answer.
    assert run_cli(first, "status").returncode == health.OK
    assert await gw.stop() == 0
    # Its lock went with it: the second may start now (and stop).
    again = spawn_gateway(second)
    await again.start()
    assert await again.stop() == 0


def test_status_with_a_config_it_cannot_read_is_unknown(tmp_path: Path) -> None:
    missing = run_cli(tmp_path / "missing.yaml", "status")
    assert missing.returncode == health.UNKNOWN
    assert missing.stdout.startswith("unknown: ")
    broken = tmp_path / "broken.yaml"
    broken.write_text("data_dir: [\n")
    done = run_cli(broken, "status")
    assert (done.returncode, done.stdout[:9]) == (health.UNKNOWN, "unknown: ")


def test_status_by_a_user_who_cannot_read_data_dir_is_unknown() -> None:
    """The sysop's own login on a gateway user's 0700 data_dir: not "not running"."""
    as_other: list[str] = []
    if os.geteuid() == 0:  # root reads everything: ask as nobody
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv")
        as_other = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    top = Path(tempfile.mkdtemp(prefix="status-"))  # pytest's tmp_path is 0700: nobody's way in
    try:
        top.chmod(0o755)
        data = top / "data"
        data.mkdir(mode=0o700)
        (data / health.PID_FILE).write_text(f"{os.getpid()}\n")
        data.chmod(0o000 if not as_other else 0o700)
        config = top / "gateway.yaml"
        config.write_text(f"data_dir: {data}\n")
        config.chmod(0o644)
        done = subprocess.run(
            [*as_other, sys.executable, "-m", "gateway", "--config", str(config), "status"],
            capture_output=True, text=True, timeout=60, check=False, cwd=top,
        )  # fmt: skip
        assert done.returncode == health.UNKNOWN, done.stdout + done.stderr
        assert done.stdout == (
            f"unknown: cannot read {data / health.PID_FILE}: Permission denied"
            " (run it as the gateway's user)\n"
        )
    finally:
        (top / "data").chmod(0o700)
        shutil.rmtree(top)
