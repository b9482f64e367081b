"""`gateway init`: a first install in one step.

Asks (or takes flags for) the gateway's callsign, its listeners, the data directory and
the LinBPQ port number; writes a commented config (never over an existing one), creates
the data directory, the store and the secret key with private modes (an existing key is
kept, never replaced), checks the config as `check-config` does, and prints the lines to
paste into `bpq32.cfg` and `direwolf.conf`. Rendering is pure (answers in, text out), so
the tests read exactly what a sysop will.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from gateway.callsign import parse_callsign
from gateway.config import load_config
from gateway.private_files import write_private_file
from gateway.store import Store

#: Dire Wolf's KISS TCP port when its config says nothing else.
DIREWOLF_KISS_PORT = 8001


class InitError(Exception):
    """A refusal to report in one line (an existing config, a bad answer)."""


@dataclass(frozen=True, slots=True)
class Answers:
    config: Path
    data_dir: Path
    #: The gateway's own callsign with SSID (needed for AX.25 ports), or None.
    callsign: str | None = None
    #: The TCP port the LinBPQ node's CMDPORT points at; None for no BPQ listener.
    bpq_port: int | None = 8023
    #: PORTNUM of the node's Telnet port (the n in `C n HOST m`).
    bpq_portnum: int = 1
    irc_port: int = 6667
    #: A KISS TNC: "host:port" over TCP (Dire Wolf) or a serial device path; None for none.
    kiss: str | None = None
    kiss_baud: int = 9600

    @property
    def kiss_tcp(self) -> bool:
        return self.kiss is not None and not self.kiss.startswith("/")


def check(answers: Answers) -> Answers:
    """Normalise the answers, or raise InitError naming the one that is wrong."""
    call = answers.callsign
    if call:
        parsed = parse_callsign(call)
        if parsed is None:
            raise InitError(
                f'callsign: expected a callsign with optional SSID (N0GW-10), got "{call}"'
            )
        call = str(parsed)
    for name, port in (("bpq-port", answers.bpq_port), ("irc-port", answers.irc_port)):
        if port is not None and not 1 <= port <= 65535:
            raise InitError(f"{name}: expected 1-65535, got {port}")
    if not 1 <= answers.bpq_portnum <= 32:
        raise InitError(
            f"bpq-portnum: expected the Telnet port's PORTNUM 1-32, got {answers.bpq_portnum}"
        )
    if answers.kiss is not None:
        if call is None:
            raise InitError("a KISS TNC needs the gateway's callsign (--callsign N0GW-10)")
        if answers.kiss_tcp:
            host, _, number = answers.kiss.rpartition(":")
            if not host or not number.isdigit() or not 1 <= int(number) <= 65535:
                raise InitError(
                    f'kiss: expected HOST:PORT or a serial device, got "{answers.kiss}"'
                )
    if answers.bpq_port is None and answers.kiss is None:
        raise InitError("nothing for radio users to reach: give a BPQ port or a KISS TNC")
    return Answers(
        config=answers.config.absolute(),
        data_dir=answers.data_dir.absolute(),
        callsign=call or None,
        bpq_port=answers.bpq_port,
        bpq_portnum=answers.bpq_portnum,
        irc_port=answers.irc_port,
        kiss=answers.kiss,
        kiss_baud=answers.kiss_baud,
    )


def render_config(a: Answers, today: date) -> str:
    """The config file `gateway init` writes: only what was asked, each key explained."""
    lines = [
        f"# Packet IRC Gateway, written by `gateway init` on {today.isoformat()}.",
        "# Every key is described in config.example.yaml; after an edit, check it with",
        f"#   gateway --config {a.config} check-config",
        "# and reload a running gateway with SIGHUP (systemctl reload gateway).",
        "",
        "# The store (enrollments, mailbox, bans) and the secret key that encrypts the",
        "# TOTP secrets. Back up both, apart: without the key no enrollment can be read.",
        f"data_dir: {_quoted(str(a.data_dir))}",
    ]
    if a.callsign:
        lines += ["", "# The gateway's own callsign: the AX.25 address radio users connect to.",
                  f"callsign: {a.callsign}"]  # fmt: skip
    lines += ["", "# Seconds a stop may take before what is left is abandoned.",
              "shutdown_timeout: 10", "", "telnet:", "  listen:"]  # fmt: skip
    if a.bpq_port is not None:
        lines += [
            "    # The LinBPQ node's CMDPORT points here; the node sends the callsign first.",
            "    # idle_timeout stays below the node's IDLETIME (900 s) so the two never race.",
            f"    - {{name: bpq, host: 127.0.0.1, port: {a.bpq_port}, bpq: true,"
            " idle_timeout: 840}",
        ]
    else:
        lines[-1] = "  listen: []"
    lines += [
        "",
        "irc:",
        "  # The embedded IRC server, on loopback until TLS is set up (config.example.yaml).",
        f"  listen: [{{host: 127.0.0.1, port: {a.irc_port}}}]",
    ]
    if a.kiss is not None:
        where = (
            f"tcp: {_quoted(a.kiss)}"
            if a.kiss_tcp
            else f"serial: {_quoted(a.kiss)}, baud: {a.kiss_baud}"
        )
        lines += [
            "",
            "radio:",
            "  ports:",
            "    # A KISS TNC (Dire Wolf's KISS TCP port, or a serial TNC).",
            f"    - {{name: radio, {where}}}",
        ]
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is one): a path with `#` or `: `
    must not be cut short by the YAML reader."""
    return json.dumps(text)


def bpq_lines(a: Answers) -> str:
    """What to paste into bpq32.cfg for the gateway's BPQ listener."""
    assert a.bpq_port is not None
    return (
        f"In bpq32.cfg, inside the CONFIG block of the Telnet port (the PORT with\n"
        f"DRIVER=TELNET and PORTNUM={a.bpq_portnum}), between CONFIG and ENDPORT:\n"
        f"\n    CMDPORT {a.bpq_port}\n\n"
        "(if the line already lists ports, add it at the end; its place counting from 0\n"
        "is the HOST number below). At top level, outside every PORT block, with an\n"
        "APPLICATION number the node does not use yet:\n"
        f"\n    APPLICATION 1,IRC,C {a.bpq_portnum} HOST 0 S\n\n"
        "No NOCALL and no K: the node must send the callsign, and keepalives cost airtime.\n"
        "Restart LinBPQ; a user types IRC at the node and is asked for a code.\n"
    )


def direwolf_lines(a: Answers) -> str:
    """What the TNC side needs (Dire Wolf's KISS TCP port, or a serial TNC in KISS mode)."""
    if a.kiss_tcp:
        assert a.kiss is not None
        port = a.kiss.rpartition(":")[2]
        note = (
            ""
            if int(port) == DIREWOLF_KISS_PORT
            else f" (Dire Wolf's default is {DIREWOLF_KISS_PORT})"
        )
        return (
            f"In direwolf.conf, the KISS TCP port the gateway connects to{note}:\n"
            f"\n    KISSPORT {port}\n\n"
            "Dire Wolf sends what the gateway gives it under the gateway's callsign; its\n"
            "own MYCALL is for its beacons only.\n"
        )
    return (
        f"Put the TNC on {a.kiss} in KISS mode at {a.kiss_baud} baud (see its manual); the\n"
        "gateway's service user needs the dialout group to open it.\n"
    )


def run_init(answers: Answers, say: Callable[[str], None], today: date | None = None) -> None:
    """Write the config, create the store and key, check, and say what to paste."""
    a = check(answers)
    if os.path.lexists(a.config):
        raise InitError(f"{a.config}: already exists; not overwritten (move it away first)")
    a.config.parent.mkdir(parents=True, exist_ok=True)
    text = render_config(a, today or date.today())
    try:
        write_private_file(a.config, text.encode(), exclusive=True)
    except FileExistsError:
        raise InitError(f"{a.config}: already exists; not overwritten") from None
    try:
        config = load_config(a.config)  # the check-config check, on what was written
        key = config.secret_key_path
        had_key = key.exists()
        Store.open(config).close()  # creates data_dir (0700), the database and the key (0600)
    except BaseException:
        a.config.unlink()  # ours, just written: a second `init` must not find it in the way
        raise
    say(f"wrote {a.config}")
    say(f"{'kept the existing' if had_key else 'created the'} secret key {key}; back it up apart")
    say(f"{a.config}: OK")
    if a.bpq_port is not None:
        say("")
        say(bpq_lines(a).rstrip())
    if a.kiss is not None:
        say("")
        say(direwolf_lines(a).rstrip())
    say("")
    say("Next: enroll a ham (a QR code for their authenticator app), then run the gateway:")
    say(f"    gateway --config {a.config} enroll N0CALL")
    say(f"    gateway --config {a.config} run")
