"""Command line: `python -m ircd --config FILE` serves; `python -m ircd hash-password` hashes.

This is the only place where errors become exit codes: 0 after a clean stop (SIGTERM or
SIGINT), 1 when listening fails, 2 for an invalid configuration or usage.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import signal
import ssl
import sys

from ircd.config import DEFAULT_CONFIG, ConfigError, IrcConfig, load_irc_config
from ircd.hooks import Control, rehash_refused
from ircd.net import IrcServer, run
from ircd.passwords import hash_password

log = logging.getLogger("ircd")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ircd", description="A small IRC server.")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="YAML file: a gateway config with an irc: section, or only that section "
        "(default: built-in, listening on 127.0.0.1:6667)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log connections too")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser(
        "hash-password",
        help="read a password (prompted, or one line of stdin) and print its Argon2id hash "
        "for irc.opers[].password_hash or irc.allow[].password_hash",
    )
    args = parser.parse_args(argv)
    if args.command == "hash-password":
        return _hash_password()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_irc_config(args.config) if args.config else DEFAULT_CONFIG
    except ConfigError as e:
        print(f"invalid configuration:\n{e}", file=sys.stderr)
        return 2
    return run(_serve(config, args.config))


def _hash_password() -> int:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("the passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("empty password", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


async def _serve(config: IrcConfig, path: str | None) -> int:
    stop = asyncio.Event()

    def rehash() -> str:
        assert path is not None
        return _reload(irc, path)  # `irc` is bound below, before any command runs

    control = Control(rehash=rehash if path is not None else None, die=stop.set)
    irc = IrcServer(config, control=control)
    try:
        await irc.start()
    except (OSError, ssl.SSLError) as e:
        log.error("cannot listen: %s", e)
        return 1
    for endpoint in irc.endpoints:
        log.info("listening on %s", endpoint)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    if path is not None:
        loop.add_signal_handler(signal.SIGHUP, _reload, irc, path)
    await stop.wait()
    log.info("stopping")
    await irc.stop()
    log.info("stopped")
    return 0


def _reload(irc: IrcServer, path: str) -> str:
    # An invalid new file leaves the running configuration in place.
    try:
        config = load_irc_config(path)
    except ConfigError as e:
        log.error("reload failed, keeping the current configuration:\n%s", e)
        return rehash_refused(e.problems)
    irc.reload(config)
    log.info("configuration reloaded from %s", path)
    return f"reloaded {path}"


if __name__ == "__main__":
    sys.exit(main())
