"""The `gateway` command: run, check-config, enroll, users, revoke, unlock, certfp, apppass,
irc-login.

The only module that turns errors into exit codes. Every command that touches the
store checks the data directory's permissions first and runs with umask 077.
"""

from __future__ import annotations

import argparse
import getpass
import io
import logging
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import segno

from gateway import health, transmit
from gateway.auth import admin, audit, netlogin, penalties, totp
from gateway.auth.credentials import CredentialError
from gateway.callsign import parse_base_callsign
from gateway.cli import bans as banscli
from gateway.cli import credentials as credcli
from gateway.cli import init
from gateway.cli import logins as logincli
from gateway.config import Config, ConfigError, default_config, load_config
from gateway.private_files import (
    UnsafePathError,
    check_private,
    ensure_private_dir,
    write_private_file,
)
from gateway.store import BUSY, Store, StoreError, is_busy
from ircd.passwords import hash_password

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A failure to report in one line and exit 1."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    os.umask(0o077)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_ERROR
    except (CliError, CredentialError, banscli.BanError, StoreError, UnsafePathError) as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except sqlite3.Error as exc:  # a write the store refused after it opened
        print(f"gateway: {BUSY if is_busy(exc) else f'the store: {exc}'}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # ^C at a prompt: nothing was stored; off the prompt's line
        print("\ngateway: cancelled", file=sys.stderr)
        return 130
    except EOFError:  # Ctrl-D at a question or a password prompt
        print("\ngateway: cancelled (end of input)", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # a file the command was given: one line, never a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"gateway: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", metavar="FILE", default=argparse.SUPPRESS,
        help="YAML configuration file (default: built-in defaults on loopback)",
    )  # fmt: skip
    parser = argparse.ArgumentParser(
        prog="gateway",
        description="TOTP-gated gateway from packet radio to IRC.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func: object, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = add("init", _init, "write a first config, the store and its key; print the node's lines")
    p.add_argument("--data-dir", metavar="DIR", help="the store and key (default: data beside it)")
    p.add_argument("--callsign", help="the gateway's own callsign with SSID (AX.25), e.g. N0GW-10")
    p.add_argument(
        "--bpq-port", type=int, metavar="PORT",
        help="TCP port of the LinBPQ node's CMDPORT (default 8023; 0: no BPQ listener)",
    )  # fmt: skip
    p.add_argument(
        "--bpq-portnum", type=int, metavar="N",
        help="PORTNUM of the node's Telnet port, for APPLICATION's C N (default 1)",
    )  # fmt: skip
    p.add_argument(
        "--irc-port", type=int, metavar="PORT", help="embedded IRC server (default 6667)"
    )
    p.add_argument(
        "--kiss", metavar="HOST:PORT|DEVICE", help="a KISS TNC: Dire Wolf's TCP or serial"
    )
    p.add_argument("--kiss-baud", type=int, default=9600, help="serial TNC speed (default 9600)")
    p.add_argument(
        "--non-interactive", action="store_true",
        help="ask nothing: flags and defaults only (also when stdin is not a terminal)",
    )  # fmt: skip
    add("run", _run, "start the listeners and serve until SIGTERM")
    add("check-config", _check_config, "validate the configuration and exit")
    add("status", _status, "one line on the running gateway; exit 0 up, 1 degraded, 2 down")
    p = add("enroll", _enroll, "give a callsign a TOTP secret (QR code on this console)")
    p.add_argument("callsign")
    p.add_argument("--replace", action="store_true", help="replace an existing enrollment")
    p.add_argument(
        "--digits", type=int, choices=totp.DIGIT_CHOICES, default=totp.DIGITS,
        help="code length: 8 makes guessing 100 times harder (see SECURITY.md)",
    )  # fmt: skip
    p.add_argument("--qr-png", metavar="FILE", help="also write the QR code as PNG (mode 0600)")
    p.add_argument("--qr-svg", metavar="FILE", help="also write the QR code as SVG (mode 0600)")
    add("users", _users, "list enrolled callsigns and penalties (never secrets)")
    p = add("backup", _backup, "copy the store and its key into DIR (safe while running)")
    p.add_argument("directory", metavar="DIR")
    p = add("revoke", _revoke, "remove a callsign's enrollment; its sessions end")
    p.add_argument("callsign")
    p = add("unlock", _unlock, "clear the penalties of a callsign, an IP address or a node")
    p.add_argument("target", metavar="CALLSIGN|IP|NODE")
    p = add("radio", _radio, "switch the radio transmitter of a running gateway off or on")
    p.add_argument("switch", choices=("off", "on", "status"))
    p.add_argument("--port", metavar="NAME", help="switch one radio port only (radio.ports[].name)")
    p = add("audit", _audit_list, "list the audit trail: operator and console actions")
    p.add_argument(
        "--since", metavar="WHEN", default="7d",
        help="how far back: 30m, 12h, 7d, or a date YYYY-MM-DD (default 7d)",
    )  # fmt: skip
    add("hash-password", _hash_password, "print an Argon2id hash for irc.opers[].password_hash")
    credcli.register(add, _open_store, _record)
    netlogin.register(add, _open_store, _record, credcli.callsign)
    logincli.register(add, _open_store, _record, credcli.callsign,
                      lambda args: admin.known_nodes(_config(args)))  # fmt: skip
    banscli.register(add, _open_store, _record)
    return parser


def _config(args: argparse.Namespace) -> Config:
    path = _config_path(args)
    return load_config(path) if path is not None else default_config()


def _config_path(args: argparse.Namespace) -> str | None:
    """--config's value; an empty one (`--config "$CONF"` with CONF unset) is refused,
    not taken for no --config: the built-in defaults would bind and store elsewhere."""
    path: str | None = getattr(args, "config", None)
    if path == "":
        raise ConfigError(["--config: empty path"])
    return path


def _open_store(args: argparse.Namespace) -> Store:
    return _store_of(args, _config(args))


def _store_of(args: argparse.Namespace, config: Config, *, create: bool = False) -> Store:
    """The store of `config`. Only `create` commands (enroll; run and init open it
    themselves) make a new one, said so without --config (in ./data, which the sysop's
    gateway may never read); the others refuse, since an empty store and a new key in a
    mistyped data_dir would answer "not enrolled" about the real one's users."""
    fresh = not os.path.lexists(config.database_path)
    if fresh and not create:
        where = f"data_dir in {config.path}" if config.path else "--config: none was given"
        raise CliError(f"no store at {config.data_dir} (check {where})")
    store = Store.open(config)
    if fresh and getattr(args, "config", None) is None:
        print(f"gateway: no --config: a new store was made in {config.data_dir.resolve()} "
              "(built-in defaults)", file=sys.stderr)  # fmt: skip
    return store


def _run(args: argparse.Namespace) -> int:
    config = _config(args)
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        # Imported here: the rest of the CLI need not load the server and the bridge.
        from gateway.app import Gateway
        from ircd.net import run

        run(Gateway(config, on_stopping=_arm_watchdog).run())  # on uvloop when installed
    except OSError as exc:
        raise CliError(str(exc)) from None
    return EXIT_OK


#: Seconds past `shutdown_timeout` before the watchdog ends a stop the loop cannot end.
WATCHDOG_GRACE = 5.0


def _arm_watchdog(budget: float) -> None:
    """The last resort of a stop that always ends.

    Every shutdown step is bounded on the event loop (gateway/shutdown.py), but a call
    that blocks the loop itself, or a worker thread the interpreter joins at exit (a
    store write on a hung disk, a library's connect in an executor), would still hold
    the process. A daemon thread ends it once the budget and a grace period are spent.
    """

    def expire() -> None:
        logging.getLogger("gateway").error(
            "shutdown did not end within %g s; exiting anyway", budget + WATCHDOG_GRACE
        )
        logging.shutdown()
        os._exit(EXIT_ERROR)

    timer = threading.Timer(budget + WATCHDOG_GRACE, expire)
    timer.daemon = True
    timer.start()


def _check_config(args: argparse.Namespace) -> int:
    config = _config(args)
    where = config.path or "built-in defaults"
    listeners = ", ".join(f"{x.host}:{x.port}" for x in config.telnet_listen) or "none"
    print(f"{where}: OK (telnet listeners: {listeners}; data_dir: {config.data_dir})")
    for listener in config.telnet_listen:
        for warning in listener.warnings():
            print(f"warning: {warning}")
    return EXIT_OK


def _callsign_arg(text: str) -> str:
    call = parse_base_callsign(text)
    if call is None:
        raise CliError(f"not a valid base callsign (no SSID): {text!r}")
    return call


def _enroll(args: argparse.Namespace) -> int:
    callsign = _callsign_arg(args.callsign)
    config = _config(args)
    store = _store_of(args, config, create=True)
    try:
        if store.get_user(callsign) is not None and not args.replace:
            raise CliError(
                f"{callsign} is already enrolled; use --replace to issue a new secret"
                " (the old one keeps working until the new one is confirmed)"
            )
        secret = totp.new_secret()
        uri = totp.provisioning_uri(secret, callsign, config.auth.issuer, args.digits)
        qr = segno.make(uri, error="m")
        print(f"Enrolling {callsign}. Scan this with an authenticator app:\n")
        qr.terminal(out=sys.stdout, compact=True)
        print("\nOr enter this URI by hand:")
        print(uri)
        for path, kind in ((args.qr_png, "png"), (args.qr_svg, "svg")):
            if path:
                buffer = io.BytesIO()
                qr.save(buffer, kind=kind, scale=8, border=4)
                try:
                    write_private_file(Path(path), buffer.getvalue())
                except OSError as exc:
                    raise CliError(f"{path}: cannot write the QR code ({exc.strerror});"
                                   " nothing was stored") from None  # fmt: skip
                print(f"QR code written to {path} (mode 0600)")
        print(f"Type the {args.digits}-digit code the app shows now: ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:  # Ctrl-D or </dev/null: no answer, not a wrong code
            raise EOFError
        code = line.strip()
        check = totp.check_code(secret, code, time.time(), None, args.digits)
        action = f"enroll {callsign}" + (" --replace" if args.replace else "")
        if check.verdict is not totp.Verdict.OK or check.step is None:
            _record(store, action, "code did not match; nothing stored")
            raise CliError("that code does not match; nothing was stored (check the clocks)")
        with store.transaction():
            # The confirming code's step counts as used: it cannot log in afterwards.
            store.put_user(callsign, secret, check.step, time.time(), args.digits)
        del secret
        _record(store, action, f"enrolled ({args.digits} digits)")
        print(f"{callsign} is enrolled.")
    finally:
        store.close()
    return EXIT_OK


def _fmt_time(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(ts)) if ts else "-"


def _users(args: argparse.Namespace) -> int:
    config = _config(args)
    store = _store_of(args, config)
    now = time.time()
    cfg = config.auth
    try:
        users = store.list_users()
        sources = store.sources(now)
        nodes = store.nodes()
        locks = {u.callsign: admin.locked_until(store, u.callsign) for u in users}
    finally:
        store.close()
    print(f"{'CALLSIGN':<8} {'ENROLLED':<17} {'LAST LOGIN':<17} GUESSING BUDGET")
    for u in users:
        penalty = admin.callsign_budget_text(u, now, cfg.callsign)
        if locks[u.callsign] > now:  # RADIO LOCK: refused whatever its budget says
            penalty = f"LOCKED until {_fmt_time(locks[u.callsign])}; {penalty}"
        enrolled, last = _fmt_time(u.enrolled_at), _fmt_time(u.last_login)
        print(f"{u.callsign:<8} {enrolled:<17} {last:<17} {penalty}")
    if not users:
        print("(no callsigns enrolled)")
    # `*gateway` and `*gateway:familiar` are the gateway-wide buckets, with their own sizes.
    sized = [(n, b, cfg.gateway if n.startswith("*") else cfg.node) for n, b in nodes]
    spent = [(n, penalties.budget_at(b, now, c), c) for n, b, c in sized]
    spent = [(n, b, c) for n, b, c in spent if b.level > 0]
    if spent:
        print("\nNodes with wrong codes (budget across callsigns):")
        for node, b, c in spent:
            print(f"  {node}: {admin.budget_text(b, c)}")
    blocked = [s for s in sources if penalties.source_blocked(s[1], now, cfg.source)]
    if blocked:
        print("\nSources refused for now:")
        for source, until, failures in blocked:
            print(f"  {source}: {admin.source_text(until, failures, now, cfg.source)}")
    return EXIT_OK


def _revoke(args: argparse.Namespace) -> int:
    callsign = _callsign_arg(args.callsign)
    store = _open_store(args)
    try:
        with store.transaction():
            found = store.delete_user(callsign)
            store.clear_callsign(callsign)
        _record(store, f"revoke {callsign}", "done" if found else "not enrolled")
    finally:
        store.close()
    if not found:
        raise CliError(f"{callsign} is not enrolled")
    print(f"{callsign} revoked; a running gateway ends its sessions within seconds.")
    return EXIT_OK


def _running_gateway_pid(config: Config) -> int | None:
    """The PID in data_dir/gateway.pid if that process is a running gateway.

    PermissionError if the file cannot be read (another user's 0700 data_dir): then
    whether a gateway runs is unknown, which is not "none runs".
    """
    try:
        text = (config.data_dir / health.PID_FILE).read_text()
    except PermissionError:
        raise
    except OSError:
        return None
    try:
        pid = int(text.strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    # A stale file may name an unrelated process now: never signal that one.
    if not any(b"gateway" in part for part in cmdline) or b"run" not in cmdline:
        return None
    return pid


def _init(args: argparse.Namespace) -> int:
    config = Path(_config_path(args) or "gateway.yaml")
    ask = sys.stdin.isatty() and not args.non_interactive

    def value(flag: object, question: str, default: str) -> str:
        if flag is not None:
            return str(flag)
        if not ask:
            return default
        answer = input(f"{question} [{default or 'none'}]: ").strip()
        return answer or default

    def number(flag: object, question: str, default: str) -> int:
        """A whole number; asked again at a terminal until it is one."""
        while True:
            text = value(flag, question, default)
            try:
                return int(text)
            except ValueError:
                if flag is not None or not ask:
                    raise CliError(f"init: {question}: expected a number, got {text!r}") from None
                print(f"  {text!r} is not a number.")

    bpq = number(args.bpq_port, "LinBPQ CMDPORT to listen on (0: none)", "8023")
    answers = init.Answers(
        config=config,
        data_dir=Path(value(args.data_dir, "Data directory", str(config.parent / "data"))),
        callsign=value(args.callsign, "The gateway's callsign with SSID, for AX.25", "") or None,
        bpq_port=bpq or None,
        bpq_portnum=number(args.bpq_portnum, "PORTNUM of the node's Telnet port", "1")
        if bpq
        else 1,
        irc_port=number(args.irc_port, "Embedded IRC server port", "6667"),
        kiss=value(args.kiss, "KISS TNC, HOST:PORT or serial device", "") or None,
        kiss_baud=args.kiss_baud,
    )
    try:
        init.run_init(answers, print)
    except init.InitError as exc:
        raise CliError(f"init: {exc}") from None
    return EXIT_OK


def _backup(args: argparse.Namespace) -> int:
    """The store (SQLite's online backup) and the key, time-stamped, in a private directory."""
    config = _config(args)
    target = Path(args.directory)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    database, key = target / f"gateway-{stamp}.db", target / f"secret-{stamp}.key"
    store = _store_of(args, config)
    try:
        ensure_private_dir(target)
        check_private(target, directory=True)
        store.backup_to(database)
        write_private_file(key, config.secret_key_path.read_bytes(), exclusive=True)
    except FileExistsError:
        raise CliError(f"{database}: already exists; try again in a second") from None
    except OSError as exc:
        raise CliError(f"backup: {exc}") from None
    finally:
        store.close()
    print(f"store: {database}\nkey:   {key}\nKeep copies of the key apart from the store.")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    """The running gateway's state as it last wrote it to the store (gateway/health.py)."""
    try:
        config = _config(args)
    except ConfigError as exc:  # a monitoring check's "unknown", not "degraded"
        print(f"unknown: {exc}")
        return health.UNKNOWN
    try:
        pid = _running_gateway_pid(config)
    except PermissionError as exc:
        print(f"unknown: cannot read {exc.filename}: {exc.strerror} (run it as the gateway's user)")
        return health.UNKNOWN
    last = None
    if pid is not None:
        try:
            last = health.read_file(config.database_path)
        except sqlite3.Error as exc:
            print(f"unknown: pid {pid} is running; cannot read {config.database_path}: {exc}")
            return health.UNKNOWN
    code, line = health.verdict(last, pid, time.monotonic())
    print(line)
    return code


def _radio(args: argparse.Namespace) -> int:
    config = _config(args)
    names = [p.name for p in config.radio.ports]
    if args.port is not None and args.port not in names:
        raise CliError(f"no radio port {args.port!r} (ports: {', '.join(names) or 'none'})")
    store = _store_of(args, config)
    try:
        if args.switch != "status":
            transmit.set_switch(store, args.switch == "on", args.port)
            _record(store, f"radio {args.switch}" + (f" --port {args.port}" if args.port else ""),
                    "done")  # fmt: skip
        on, off = transmit.switches(store, names)
    finally:
        store.close()
    switch = "on" if on else "off"
    own = {n: "off" if n in off else "on" for n in names}
    pid = _running_gateway_pid(config)
    if pid is not None and args.switch != "status":
        os.kill(pid, signal.SIGUSR1)
    if pid is None:
        running = "no running gateway found"
    elif args.switch == "status":
        running = f"gateway running (pid {pid})"  # a query tells it nothing
    else:
        running = f"running gateway (pid {pid}) told at once"
    print(f"radio transmitter switch: {switch}; {running}.")
    for name, value in own.items():
        print(f"  port {name}: {value}" + ("" if switch == "on" else " (all ports are off)"))
    if switch == "on" and not config.radio.transmit:
        print("note: radio.transmit is false in the config, so the transmitter stays off.")
    return EXIT_OK


def _hash_password(args: argparse.Namespace) -> int:
    """Prompt twice on a terminal, or read one line from stdin; print the hash."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise CliError("the passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CliError("empty password")
    print(hash_password(password))
    return EXIT_OK


def _unlock(args: argparse.Namespace) -> int:
    """Clear the lock, penalties and budgets of a callsign, an address or a node."""
    target = args.target.strip()
    config = _config(args)
    store = _store_of(args, config)
    try:
        try:
            cleared = admin.unlock(store, target, admin.known_nodes(config))
        except admin.AdminError as exc:
            raise CliError(str(exc)) from None
        _record(store, f"unlock {target}", f"{cleared} record(s) cleared")
    finally:
        store.close()
    print(f"{target}: {cleared} penalty record(s) cleared.")
    return EXIT_OK


def _record(store: Store, action: str, result: str) -> None:
    """One row of the audit trail for a console action."""
    try:
        source = os.ttyname(sys.stdin.fileno())
    except (OSError, ValueError):
        source = "no terminal"
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        user = f"uid {os.getuid()}"
    entry = audit.Entry(time.time(), f"console:{user}", source, action, result)
    audit.record(store, entry)


def _since(text: str, now: float) -> float:
    units = {"m": 60, "h": 3600, "d": 86400}
    # At most 12 digits: the audit trail starts after 1970, and int() of a longer
    # string is slow (CPython refuses over 4300 digits).
    if 0 < len(text) - 1 <= 12 and text[:-1].isdigit() and text[-1:] in units:
        back = int(text[:-1]) * units[text[-1]]
        if back > now:
            raise CliError(f"--since: {text!r} reaches back before 1970; try a date YYYY-MM-DD")
        return now - back
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise CliError(f"--since: expected 30m, 12h, 7d or YYYY-MM-DD, got {text!r}") from None


def _audit_list(args: argparse.Namespace) -> int:
    start = _since(args.since, time.time())
    store = _open_store(args)
    try:
        entries = audit.since(store, start, audit.MAX_ROWS)
    finally:
        store.close()
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(e.at))
        print(f"{when}  {e.who}  from {e.source}: {e.action} -> {e.result}")
    print(f"{len(entries)} entries since {time.strftime('%Y-%m-%d %H:%MZ', time.gmtime(start))}.")
    return EXIT_OK
