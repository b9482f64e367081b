"""`RADIO`: the IRC operators' view and control of the radio side.

One command family, added to the embedded server through its extension interface
(`Server.add_command`), for operators only (others get 481 from the dispatcher).
Every reply is a server NOTICE, one short line each, so irssi and WeeChat show it as
it is, without scripts:

    /quote RADIO SESSIONS             who is on: callsign, path, since, idle, bytes
    /quote RADIO KICK KN4XYZ-5 [why]  end a session; the radio user reads the reason
    /quote RADIO TX [ON|OFF]          the transmitter switch (as `gateway radio on|off`)
    /quote RADIO HELP

Enrollment stays on the sysop's console: a TOTP secret never travels over IRC.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ircd.protocol import Message

if TYPE_CHECKING:
    from gateway.bridge import Bridge, RadioSession
    from ircd.client import Client
    from ircd.replies import ReplyBuffer
    from ircd.server import Pending, Server

log = logging.getLogger("gateway.operators")

HELP = (
    "RADIO SESSIONS: callsign, path, logged in since, idle, bytes to the user / from the user",
    "RADIO KICK <callsign> [reason]: end that session; the user reads the reason",
    "RADIO TX [ON|OFF]: show or switch the transmitter of every radio port",
    "RADIO ENROLL: refused here; enroll on the sysop's console (gateway enroll)",
)
ENROLL_REFUSED = (
    "Enrollment stays on the sysop's console (gateway enroll CALLSIGN): "
    "a TOTP secret never travels over IRC."
)


class RadioCommands:
    """The `RADIO` handler; `set_transmit` and `transmitting` come from the application."""

    def __init__(
        self,
        bridge: Bridge,
        *,
        clock: Callable[[], float],
        transmitting: Callable[[], bool],
        set_transmit: Callable[[bool], Awaitable[None]],
    ) -> None:
        self.bridge = bridge
        self.clock = clock
        self._transmitting = transmitting
        self._set_transmit = set_transmit

    def install(self, server: Server) -> None:
        server.add_command("RADIO", self.handle, min_params=1, oper_only=True)

    def handle(
        self, server: Server, client: Client, msg: Message, rb: ReplyBuffer
    ) -> Pending | None:
        """RADIO <SESSIONS|KICK|TX|HELP> [...]

        The radio side, for operators: who is on the air, end a session, the
        transmitter switch. RADIO HELP lists the subcommands.
        """
        sub = msg.params[0].upper()
        args = msg.params[1:]
        if sub in ("SESSIONS", "WHO", "LIST"):
            self._sessions(server, client, rb)
        elif sub == "KICK" and args:
            self._kick(server, client, rb, args[0], " ".join(args[1:]).strip())
        elif sub == "TX" and not args:
            state = "on" if self._transmitting() else "off"
            _notice(server, client, rb, f"The transmitter is {state}.")
        elif sub == "TX" and args[0].upper() in ("ON", "OFF"):
            return self._switch(server, client, args[0].upper() == "ON")
        elif sub == "ENROLL":
            _notice(server, client, rb, ENROLL_REFUSED)
        else:
            for line in HELP:
                _notice(server, client, rb, line)
        return None

    def _sessions(self, server: Server, client: Client, rb: ReplyBuffer) -> None:
        sessions = sorted(self.bridge.sessions(), key=lambda s: str(s.callsign))
        if not sessions:
            _notice(server, client, rb, "No radio sessions.")
            return
        now = self.clock()
        for s in sessions:
            _notice(server, client, rb, self._describe(s, now))
        _notice(server, client, rb, f"{len(sessions)} radio session(s).")

    @staticmethod
    def _describe(s: RadioSession, now: float) -> str:
        core = s.core
        since = time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(core.since))
        idle = _duration(now - core.last_input)
        t = s.transport
        return (
            f"{s.callsign} ({core.nick}) via {t.via}, since {since}, idle {idle}, "
            f"{t.bytes_out} bytes to the user, {t.bytes_in} from"
        )

    def _kick(self, server: Server, client: Client, rb: ReplyBuffer, call: str, why: str) -> None:
        session = self.bridge.find(call)
        if session is None:
            _notice(server, client, rb, f"No radio session for {call}.")
            return
        reason = f"Disconnected by {client.name}" + (f": {why}" if why else ".")
        log.warning("%s ended the session of %s (%s)", client.name, session.callsign, why or "-")
        session.end(reason, f"kicked by operator {client.name}")
        server.notice_opers(f"{client.name} ended the radio session of {session.callsign}", rb)

    async def _switch(self, server: Server, client: Client, on: bool) -> None:
        await self._set_transmit(on)
        text = f"{client.name} switched the transmitter {'ON' if on else 'OFF'}"
        log.warning("%s", text)
        if not client.closed:
            server.notice_opers(text, server.replies(client))


def _notice(server: Server, client: Client, rb: ReplyBuffer, text: str) -> None:
    rb.add(Message(source=server.name, command="NOTICE", params=(client.name, text)))


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
