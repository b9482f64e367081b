"""`gateway status`: what the running gateway last said of itself, read through the store.

The running gateway writes a snapshot (listeners, IRC, radio ports, MQTT, the service
nick's notices waiting for the network's flood limit and dropped) into the store
whenever it changes and at least every HEARTBEAT seconds; `gateway status` reads it and
checks the PID file, so a service manager or a monitoring check needs no network socket
and no control channel. The verdict is pure: the snapshot, whether the process is alive
and the time in, an exit code and one line out.

Exit codes as monitoring plugins give them (Nagios, Icinga, Zabbix's agent checks): 0 OK,
running and everything up; 1 WARNING, running but something is down (a listener, a
radio port's TNC, the MQTT broker); 2 CRITICAL, not running, or running with a stale
snapshot (the loop is stuck); 3 UNKNOWN, the store could not be read. `status` only
reads: the database is opened read-only and nothing in it is created or migrated.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gateway import settingstore
from gateway.db import Db

STATUS_SETTING = "runtime_status"
#: In data_dir: the running gateway's PID (written at start, removed at a clean stop).
PID_FILE = "gateway.pid"
#: The longest the running gateway goes without rewriting its snapshot.
HEARTBEAT = 30.0
#: A snapshot older than this (on the monotonic clock) means the gateway is not responding.
STALE_AFTER = 3 * HEARTBEAT

OK, DEGRADED, NOT_RUNNING, NOT_RESPONDING, UNKNOWN = 0, 1, 2, 2, 3


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What is up in a running gateway (compared for change without the times)."""

    pid: int
    #: Wall time of the start, for a person to read.
    started: float
    #: "host:port" of each telnet listener that is listening.
    listeners: tuple[str, ...] = ()
    #: Telnet listeners configured (so a missing one shows).
    listeners_wanted: int = 0
    #: "embedded 127.0.0.1:6667" or "external irc.example.net:6697".
    irc: str = ""
    #: Radio port name -> its state as operators see it ("TNC up", "TNC down, ...").
    radio: dict[str, str] = field(default_factory=dict)
    #: None without MQTT, else whether the broker is connected.
    mqtt: bool | None = None
    #: The service nick's notices waiting for the network's flood limit (None without
    #: the bridge), and dropped since the start (bridge/noticequeue.py). Waiting
    #: changes all the time: the heartbeat rewrites it, a change alone does not.
    notices_waiting: int | None = field(default=None, compare=False)
    notices_dropped: int = 0

    def problems(self) -> list[str]:
        """What is down, in words; empty when everything is up."""
        down = []
        if len(self.listeners) < self.listeners_wanted:
            down.append(f"{self.listeners_wanted - len(self.listeners)} telnet listener(s) down")
        down += [f"radio {name} {state}" for name, state in self.radio.items() if state != "TNC up"]
        if self.mqtt is False:
            down.append("MQTT broker disconnected")
        return down


def record(store: Db, snapshot: Snapshot, wall: float, monotonic: float) -> None:
    """Write the snapshot and when (both clocks: wall for people, monotonic for staleness)."""
    body = {"snapshot": asdict(snapshot), "wall": wall, "monotonic": monotonic}
    with store.transaction():
        settingstore.set_setting(store, STATUS_SETTING, json.dumps(body, sort_keys=True))


def read(store: Db) -> tuple[Snapshot, float, float] | None:
    """The last snapshot with its wall and monotonic times, or None (never written, damaged)."""
    return _decode(settingstore.get_setting(store, STATUS_SETTING))


def read_file(database: Path) -> tuple[Snapshot, float, float] | None:
    """As `read`, from the database file opened read-only (raises sqlite3.Error)."""
    conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=2)
    try:
        return _decode(settingstore.read_setting(conn, STATUS_SETTING))
    finally:
        conn.close()


def _decode(text: str | None) -> tuple[Snapshot, float, float] | None:
    if text is None:
        return None
    try:
        body = json.loads(text)
        fields = body["snapshot"]
        fields["listeners"] = tuple(fields["listeners"])
        return Snapshot(**fields), float(body["wall"]), float(body["monotonic"])
    except (ValueError, TypeError, KeyError):
        return None


def verdict(
    last: tuple[Snapshot, float, float] | None, pid: int | None, monotonic: float
) -> tuple[int, str]:
    """The exit code and the one line of `gateway status`.

    `pid` is the running gateway's (from its PID file, checked alive), or None.
    """
    if pid is None:
        return NOT_RUNNING, "not running"
    if last is None or last[0].pid != pid:
        return NOT_RESPONDING, f"pid {pid} is running but has not reported its state"
    snapshot, _, at = last
    age = monotonic - at
    if not 0 <= age <= STALE_AFTER:  # negative: written before this machine's boot
        return NOT_RESPONDING, f"pid {pid} is running but last reported {age:.0f} s ago"
    parts = [f"pid {pid}", f"IRC {snapshot.irc}"]
    parts.append(f"telnet {len(snapshot.listeners)}/{snapshot.listeners_wanted} listening")
    parts += [f"radio {name}: {state}" for name, state in snapshot.radio.items()]
    if snapshot.mqtt is not None:
        parts.append("MQTT " + ("connected" if snapshot.mqtt else "disconnected"))
    if snapshot.notices_waiting is not None:
        parts.append(f"service notices: {snapshot.notices_waiting} waiting,"
                     f" {snapshot.notices_dropped} dropped")  # fmt: skip
    problems = snapshot.problems()
    head = "running" if not problems else "degraded (" + "; ".join(problems) + ")"
    return (OK if not problems else DEGRADED), f"{head}: " + ", ".join(parts)
