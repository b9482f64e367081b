"""`RADIO`: the IRC operators' view and control of the radio side.

One command family, added to the embedded server through its extension interface
(`Server.add_command`), for operators only (others get 481 from the dispatcher).
Every reply is a server NOTICE, one short line each, so irssi and WeeChat show it as
it is, without scripts:

    /quote RADIO SESSIONS             who is on: callsign, path, since, idle, bytes
    /quote RADIO KICK KN4XYZ-5 [why]  end a session; the radio user reads the reason
                                      (as the third-party rule allows)
    /quote RADIO REVOKE KN4XYZ        as `gateway revoke`: the secret is gone, sessions end
    /quote RADIO LOCK KN4XYZ 12h      refuse its logins for a while; sessions end
    /quote RADIO UNLOCK KN4XYZ        as `gateway unlock` (also an address or a node)
    /quote RADIO PENALTIES            locks, spent budgets, refused sources
    /quote RADIO TX [ON|OFF [port]]   the transmitter switch (as `gateway radio on|off`)
    /quote RADIO AUDIT [n]            the last n entries of the audit trail
    /quote RADIO HELP

Enrollment stays on the sysop's console: a TOTP secret never travels over IRC. The other
operators hear each action under snomask r (`*** RADIO: sysop (oper sysop) switched the
transmitter OFF`); the one who acted always does. Every action is recorded in the audit
trail (`gateway.auth.audit`) with the operator, the address, and the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from gateway.auth import admin, audit
from gateway.callsign import parse_base_callsign
from gateway.config import AuthConfig
from gateway.store import AsyncStore, Store
from ircd.protocol import Message
from ircd.snomask import actor

if TYPE_CHECKING:
    from gateway.bridge import Bridge, RadioSession
    from ircd.client import Client
    from ircd.context import Context
    from ircd.replies import ReplyBuffer
    from ircd.runner import Pending
    from ircd.server import Server

log = logging.getLogger("gateway.irc.operators")

HELP = (
    "RADIO SESSIONS: callsign, path, logged in since, idle, bytes to the user / from the user",
    "RADIO KICK <callsign> [reason]: end that session; the user reads the reason",
    "RADIO REVOKE <callsign>: remove the enrollment (as gateway revoke); its sessions end",
    "RADIO LOCK <callsign> <30m|12h|7d>: refuse its logins for that long; its sessions end",
    "RADIO UNLOCK <callsign|address|node>: clear locks, penalties, budgets (as gateway unlock)",
    "RADIO PENALTIES: locks, spent guessing budgets, refused sources",
    "RADIO TX [ON|OFF [port]]: show or switch the transmitter of every radio port, or one",
    "RADIO AUDIT [n]: the last n (default 20) entries of the audit trail",
    "RADIO ENROLL: refused here; enroll on the sysop's console (gateway enroll)",
)
#: The snomask letter of radio notices (`ircd.snomask`): RADIO actions go with them.
RADIO_SNOMASK = "r"
AUDIT_DEFAULT = 20
AUDIT_MAX = 200
ENROLL_REFUSED = (
    "Enrollment stays on the sysop's console (gateway enroll CALLSIGN): "
    "a TOTP secret never travels over IRC."
)


class RadioCommands:
    """The `RADIO` handler; `set_transmit` and `transmitting` come from the application."""

    def __init__(
        self,
        bridge: Bridge,
        store: AsyncStore,
        *,
        clock: Callable[[], float],
        transmitting: Callable[[], bool],
        ports: Callable[[], dict[str, str]],
        set_transmit: Callable[[bool, str | None], Awaitable[None]],
        revoked: Callable[[str], Awaitable[None]],
        auth: Callable[[], AuthConfig],
        nodes: Callable[[], frozenset[str]],
    ) -> None:
        """`revoked(base)`: the application refreshes its enrolled set and ends sessions."""
        self.bridge = bridge
        self.store = store
        self.clock = clock
        self._transmitting = transmitting
        self._ports = ports
        self._set_transmit = set_transmit
        self._revoked = revoked
        #: The current `auth:` config (it changes on reload).
        self.auth = auth
        #: The nodes RADIO UNLOCK takes (`admin.known_nodes` of the current config).
        self._nodes = nodes

    def install(self, server: Server) -> None:
        # Handlers see the narrow Context; ending IRC logins is the whole server's.
        self._end_logins = server.end_logins
        server.add_command("RADIO", self.handle, min_params=1, oper_only=True)

    def handle(
        self, server: Context, client: Client, msg: Message, rb: ReplyBuffer
    ) -> Pending | None:
        """RADIO <SESSIONS|KICK|REVOKE|LOCK|UNLOCK|PENALTIES|TX|AUDIT|HELP> [...]

        The radio side, for operators: who is on the air, end a session, revoke, lock
        and unlock a callsign, penalties, the transmitter switch, the audit trail.
        RADIO HELP lists them.
        """
        sub = msg.params[0].upper()
        entry = _SUBCOMMANDS.get(sub)
        args = msg.params[1:]
        if entry is None:
            return self._help(server, client, rb, args)
        if len(args) < entry[0] or (args and not args[0].strip()):
            return self._usage(server, client, rb, sub, args)
        return entry[1](self, server, client, rb, args)

    # -- the subcommands, one entry each in _SUBCOMMANDS (below the class) ------------------

    def _help(self, server: Context, client: Client, rb: ReplyBuffer, args: Args) -> Pending | None:
        for line in HELP:
            _notice(server, client, rb, line)
        return None

    def _usage(
        self, server: Context, client: Client, rb: ReplyBuffer, sub: str, args: Args
    ) -> Pending:
        """One line, the subcommand's own syntax; refused and audited as such."""
        line = next((h for h in HELP if h.startswith(f"RADIO {sub} ")), f"RADIO {sub}")
        _notice(server, client, rb, "Usage: " + line)
        return self._record(client, f"{sub.lower()} {' '.join(args)}".strip(), "bad arguments")

    def _kick_cmd(self, server: Context, client: Client, rb: ReplyBuffer, args: Args) -> Pending:
        return self._kick(server, client, rb, args[0], " ".join(args[1:]).strip())

    def _tx(self, server: Context, client: Client, rb: ReplyBuffer, args: Args) -> Pending | None:
        if not args:
            on = self._transmitting()
            _notice(server, client, rb, f"The transmitter is {'ON' if on else 'OFF'}.")
            for name, text in sorted(self._ports().items()):
                own, _, doing = text.partition(", ")
                if own == "on" and not on:
                    own = "on, held OFF by the transmitter switch"
                _notice(
                    server, client, rb, f"Port {name}: {', '.join(filter(None, (own, doing)))}."
                )
            return None
        if args[0].upper() not in ("ON", "OFF"):
            return self._usage(server, client, rb, "TX", args)
        port = args[1] if len(args) > 1 else None
        if port is not None and port not in self._ports():
            names = ", ".join(sorted(self._ports())) or "none"
            _notice(server, client, rb, f"No radio port {port} (ports: {names}).")
            return self._record(client, f"tx {args[0].lower()} {port}", "refused: no such port")
        return self._switch(server, client, args[0].upper() == "ON", port)

    def _audit_cmd(
        self, server: Context, client: Client, rb: ReplyBuffer, args: Args
    ) -> Pending | None:
        if args and not args[0].isdigit():
            return self._usage(server, client, rb, "AUDIT", args)
        count = min(int(args[0]) if args else AUDIT_DEFAULT, AUDIT_MAX)
        return self._audit(server, client, count)

    def _enroll(self, server: Context, client: Client, rb: ReplyBuffer, args: Args) -> Pending:
        _notice(server, client, rb, ENROLL_REFUSED)
        return self._record(client, f"enroll {' '.join(args)}".strip(), "refused")

    def _sessions(self, server: Context, client: Client, rb: ReplyBuffer) -> None:
        sessions = sorted(self.bridge.sessions(), key=lambda s: str(s.callsign))
        if not sessions:
            _notice(server, client, rb, "No radio sessions.")
            return
        for s in sessions:
            _notice(server, client, rb, self._describe(s))
        _notice(server, client, rb, f"{len(sessions)} radio session(s).")

    @staticmethod
    def _describe(s: RadioSession) -> str:
        core = s.core
        since = time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(core.since))
        idle = _duration(s.idle)  # on the session's monotonic clock
        t = s.transport
        return (
            f"{s.callsign} ({core.nick}) via {t.via}, since {since}, idle {idle}, "
            f"{t.bytes_out} bytes to the user, {t.bytes_in} from"
        )

    def _kick(
        self, server: Context, client: Client, rb: ReplyBuffer, call: str, why: str
    ) -> Pending:
        exact = self.bridge.find(call)
        base = parse_base_callsign(call.upper())
        # A bare callsign ends every SSID's session (`KN4XYZ` finds `KN4XYZ-7`).
        sessions = [exact] if exact is not None else self.bridge.of_base(base) if base else []
        action = f"kick {call}" + (f" ({why})" if why else "")
        if not sessions:
            _notice(server, client, rb, f"No radio session for {call}.")
            return self._record(client, action, "no such session")
        reason = f"Disconnected by {client.name}" + (f": {why}" if why else ".")
        if self.bridge.trust.refusal(client) is not None:
            # The third-party rule: an operator not logged in to an account is kept off
            # the air, their nick and words as well as their text (issue 19).
            reason = "Disconnected by an IRC operator."
        ended = ", ".join(sorted(str(s.callsign) for s in sessions))
        log.warning("%s ended the session(s) of %s (%s)", client.name, ended, why or "-")
        for session in sessions:
            session.end(reason, f"kicked by operator {client.name}")
        text = f"{actor(client)} ended the radio session of {ended}"
        server.notice_opers(text, rb, RADIO_SNOMASK)
        return self._record(client, action, f"done: {ended}")

    async def _revoke(self, server: Context, client: Client, call: str) -> None:
        base = parse_base_callsign(call.upper())
        if base is None:
            text, result = f"Not a callsign without SSID: {call}", "bad callsign"
        elif await self.store.call(_revoke, base):
            await self._revoked(base)
            text, result = f"{actor(client)} revoked {base}", "done"
            log.warning("%s", text)
        else:
            text, result = f"{base} is not enrolled.", "not enrolled"
        await self._record(client, f"revoke {call}", result)
        if client.closed:
            return
        if result == "done":
            server.notice_opers(text, server.replies(client), RADIO_SNOMASK)
        else:
            _notice(server, client, server.replies(client), text)

    async def _lock(self, server: Context, client: Client, call: str, duration: str) -> None:
        base = parse_base_callsign(call.upper())
        try:
            seconds = admin.parse_duration(duration)
        except admin.AdminError as exc:
            text, result = str(exc), "bad duration"
        else:
            until = self.clock() + seconds
            if base is None:
                text, result = f"Not a callsign without SSID: {call}", "bad callsign"
            elif await self.store.call(admin.lock, base, until):
                when = time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(until))
                text, result = f"{actor(client)} locked {base} until {when}", f"until {when}"
                log.warning("%s", text)
                self.bridge.end_sessions(base, "Your callsign has been locked.", "locked")
                self._end_logins(base, "Your callsign has been locked.")
            else:
                text, result = f"{base} is not enrolled.", "not enrolled"
        await self._record(client, f"lock {call} {duration}", result)
        self._answer(server, client, text, to_all=result.startswith("until"))

    async def _unlock(self, server: Context, client: Client, target: str) -> None:
        try:
            cleared = await self.store.call(admin.unlock, target, self._nodes())
        except admin.AdminError as exc:
            text, result, to_all = str(exc), "bad target", False
        else:
            text = f"{actor(client)} unlocked {target}: {cleared} record(s) cleared"
            result, to_all = f"{cleared} record(s) cleared", True
            log.warning("%s", text)
        await self._record(client, f"unlock {target}", result)
        self._answer(server, client, text, to_all=to_all)

    async def _penalties(self, server: Context, client: Client) -> None:
        lines = await self.store.call(admin.penalty_lines, self.auth(), self.clock())
        if client.closed:
            return
        rb = server.replies(client)
        for line in lines[:AUDIT_MAX]:
            _notice(server, client, rb, line)
        _notice(server, client, rb, f"{len(lines)} penalty line(s)." if lines else "No penalties.")

    def _answer(self, server: Context, client: Client, text: str, *, to_all: bool) -> None:
        if client.closed:
            return
        if to_all:
            server.notice_opers(text, server.replies(client), RADIO_SNOMASK)
        else:
            _notice(server, client, server.replies(client), text)

    async def _switch(self, server: Context, client: Client, on: bool, port: str | None) -> None:
        await self._set_transmit(on, port)
        where = f" of port {port}" if port else ""
        text = f"{actor(client)} switched the transmitter{where} {'ON' if on else 'OFF'}"
        log.warning("%s", text)
        await self._record(
            client, f"tx {'on' if on else 'off'}" + (f" {port}" if port else ""), "done"
        )
        if not client.closed:
            server.notice_opers(text, server.replies(client), RADIO_SNOMASK)

    async def _audit(self, server: Context, client: Client, count: int) -> None:
        entries = await self.store.call(audit.since, 0.0, count)
        if client.closed:
            return
        rb = server.replies(client)
        for e in entries:
            when = time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(e.at))
            _notice(server, client, rb, f"{when} {e.who} from {e.source}: {e.action} -> {e.result}")
        _notice(server, client, rb, f"{len(entries)} audit entries shown.")

    async def _record(self, client: Client, action: str, result: str) -> None:
        who = f"irc:{client.name} (oper {client.oper})"
        entry = audit.Entry(self.clock(), who, client.ip, action, result)
        await self.store.call(audit.record, entry)


def _revoke(store: Store, callsign: str) -> bool:
    """As `gateway revoke`: the enrollment and its failure counts go, in one transaction."""
    with store.transaction():
        found = store.delete_user(callsign)
        store.clear_callsign(callsign)
    return found


Args = tuple[str, ...]
_Subcommand = Callable[
    ["RadioCommands", "Context", "Client", "ReplyBuffer", Args], "Pending | None"
]
#: RADIO's subcommands: the fewest arguments each takes, and its handler (else RADIO HELP).
_SUBCOMMANDS: Mapping[str, tuple[int, _Subcommand]] = MappingProxyType(
    {
        **dict.fromkeys(
            ("SESSIONS", "WHO", "LIST"), (0, lambda rc, sv, cl, rb, _: rc._sessions(sv, cl, rb))
        ),
        "KICK": (1, RadioCommands._kick_cmd),
        "REVOKE": (1, lambda rc, sv, cl, _, args: rc._revoke(sv, cl, args[0])),
        "LOCK": (2, lambda rc, sv, cl, _, args: rc._lock(sv, cl, args[0], args[1])),
        "UNLOCK": (1, lambda rc, sv, cl, _, args: rc._unlock(sv, cl, args[0])),
        "PENALTIES": (0, lambda rc, sv, cl, _rb, _args: rc._penalties(sv, cl)),
        "TX": (0, RadioCommands._tx),
        "AUDIT": (0, RadioCommands._audit_cmd),
        "ENROLL": (0, RadioCommands._enroll),
    }
)


def _notice(server: Context, client: Client, rb: ReplyBuffer, text: str) -> None:
    rb.add(Message(source=server.name, command="NOTICE", params=(client.name, text)))


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
