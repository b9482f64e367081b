"""Who is on the air: the logged-in radio sessions by nick and by base callsign.

A second login of the same callsign and SSID takes over from the first, even one
still connecting to IRC (it holds a claim on the nick until it is logged in).
Bounded by the sessions themselves: an entry lives exactly as long as its session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from gateway.callsign import Callsign
from gateway.events.bus import Events
from gateway.session.render import nick_for, nick_from_typed
from gateway.session.transport import Transport

log = logging.getLogger("gateway.bridge")

TAKEN_OVER = "Logged in again elsewhere; this session ends."


class Member(Protocol):
    """What the registry needs of a session (`session.RadioSession`)."""

    @property
    def callsign(self) -> Callsign | None: ...

    @property
    def nick(self) -> str: ...

    @property
    def transport(self) -> Transport: ...

    def end(self, farewell: str, reason: str) -> None: ...

    def quit_irc(self, reason: str) -> None: ...

    def mail_arrived(self, sender: str, account: str = "") -> None: ...


M = TypeVar("M", bound=Member)


class Registry(Generic[M]):
    def __init__(self, fold: Callable[[str], str], events: Events) -> None:
        self._fold = fold
        self._events = events
        #: Folded nick -> the session holding it.
        self.by_nick: dict[str, M] = {}
        #: Folded nick -> the session connecting to IRC with it (logged in on the air).
        self._claims: dict[str, M] = {}
        #: Base callsign -> its logged-in sessions (one per SSID at most).
        self.by_base: dict[str, set[M]] = {}

    def take_over(self, nick: str, new: M) -> None:
        """A second login of the same callsign and SSID replaces the first one, even one
        still connecting to IRC (`new` holds the claim until `logged_in`)."""
        key = self._fold(nick)
        for old in (self.by_nick.get(key), self._claims.get(key)):
            if old is not None and old is not new:
                log.info("%s logged in again via %s; ending the older session", nick,
                         new.transport.via)  # fmt: skip
                old.quit_irc("Reconnected")
                old.end(TAKEN_OVER, f"logged in again via {new.transport.via}")
        self._claims[key] = new

    def logged_in(self, session: M, nick: str) -> None:
        assert session.callsign is not None
        self._events.emit("session_start", callsign=str(session.callsign), nick=nick,
                          via=session.transport.via)  # fmt: skip
        # Keyed by the callsign's own nick, even when it had to take `nick_`.
        key = self._fold(nick_for(session.callsign))
        if self._claims.get(key) is session:
            del self._claims[key]
        self.by_nick[key] = session
        self.by_base.setdefault(session.callsign.base, set()).add(session)

    def logged_out(self, session: M) -> None:
        if session.callsign is None:
            return
        key = self._fold(nick_for(session.callsign))
        if self.by_nick.get(key) is session:
            del self.by_nick[key]
        if self._claims.get(key) is session:
            del self._claims[key]
        sessions = self.by_base.get(session.callsign.base)
        if sessions is not None and session in sessions:
            log.info("%s logged out", session.callsign)
            t = session.transport
            self._events.emit("session_end", callsign=str(session.callsign),
                              nick=session.nick, via=t.via, bytes_to_user=t.bytes_out,
                              bytes_from_user=t.bytes_in)  # fmt: skip
            sessions.discard(session)
            if not sessions:
                del self.by_base[session.callsign.base]

    def sessions(self) -> list[M]:
        """Every logged-in radio session."""
        return list(self.by_nick.values())

    def find(self, call: str) -> M | None:
        """The session of a callsign as typed (`KN4XYZ-5`, `2E0ABC`), or None."""
        return self.by_nick.get(self._fold(nick_from_typed(call.strip())))

    def of_base(self, base: str) -> list[M]:
        """The sessions of a base callsign, any SSID."""
        return list(self.by_base.get(base, ()))

    def nick_on_air(self, call: Callsign) -> str | None:
        """The IRC nick of `call` (or another SSID of its base) on the air now, if any."""
        online = self.find(str(call)) or next(iter(self.by_base.get(call.base, ())), None)
        return online.nick if online is not None and online.nick else None

    def end_all(self, farewell: str, reason: str) -> None:
        for session in list(self.by_nick.values()):
            session.end(farewell, reason)

    def end_sessions(self, base: str, farewell: str, reason: str) -> None:
        for session in self.of_base(base):
            session.end(farewell, reason)
