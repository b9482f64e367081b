"""What IRC operators hear of the radio side without asking: server notices, each under
a snomask letter of its own (`ircd.snomask`), so that each kind can be muted.

- `OperatorAlerts`: log records turned into notices: the TNC lost and back, the
  transmitter switched, the duty-cycle limit reached (r, `*** RADIO: vhf: TNC connection
  lost`), IRC text kept off the air by the third-party rule (p, THIRDPARTY). The server
  collapses repeats of one message from one port (or one nick) into a "last message
  repeated N times" line, so a flapping TNC cannot flood an operator's client.
- `LoginNotices`: each radio login and each failed one (l, RADIOLOGIN), with the callsign,
  how (BPQ node, AX.25 port and path, telnet listener) and from where; never the code.
  SASL logins are the IRC server's own notices (u).
- `whois_lines`: what an operator's WHOIS of a radio user adds (node or port, path, login
  time); plain users do not see it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from gateway.auth.penalties import node_of

#: Loggers whose records reach operators: the lowest level that does, and the letter.
SOURCES = {
    "radio.port": (logging.INFO, "r"),
    "radio.station": (logging.WARNING, "r"),
    "gateway.thirdparty": (logging.INFO, "p"),
}
#: gateway records that do (the transmitter switch), by their message's start.
GATEWAY_PREFIXES = ("radio transmitter",)
#: The letters of radio logins, and of SASL's (guessing alerts about SASL sources).
RADIO_LOGINS = "l"
SASL_LOGINS = "u"

#: A notice to the operators: text, snomask letter, kind and source (repeats of one kind
#: from one source are collapsed): `ircd.server.Server.notice_opers` in a lambda.
Notify = Callable[[str, str, str, str], None]


class OperatorAlerts(logging.Handler):
    def __init__(self, notify: Notify, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.INFO)
        self._notify = notify
        self._loop = loop

    def letter(self, record: logging.LogRecord) -> str | None:
        """The snomask letter the record is told under, or None if it is not told."""
        wanted = SOURCES.get(record.name)
        if wanted is not None:
            return wanted[1] if record.levelno >= wanted[0] else None
        if record.name == "gateway" and record.getMessage().startswith(GATEWAY_PREFIXES):
            return "r"
        return None

    def emit(self, record: logging.LogRecord) -> None:
        letter = self.letter(record)
        if letter is None:
            return
        text = record.getMessage()
        # The kind is the message's template; the source its first argument (the port,
        # the sender): "vhf: TNC connection lost" repeats, "uhf: ..." is another source.
        # The transmitter switch's words are its state and port: only the same text repeats.
        args = record.args if isinstance(record.args, tuple) else ()
        source = text if record.name == "gateway" or not args else str(args[0])
        kind = f"{record.name}:{record.msg}"
        # Records may come from another thread: notices go out on the loop.
        self._loop.call_soon_threadsafe(self._notify, text, letter, kind, source)

    def install(self) -> None:
        # gateway.* records reach the "gateway" logger's handlers by propagation: one
        # handler there sees each record once.
        for name in _LOGGERS:
            logging.getLogger(name).addHandler(self)

    def remove(self) -> None:
        for name in _LOGGERS:
            logging.getLogger(name).removeHandler(self)


_LOGGERS = ("radio.port", "radio.station", "gateway")


def describe_source(source: str) -> str:
    """A login's source key (`gateway.auth.penalties.node_of`) as operators read it:
    how the station came and from where."""
    parts = source.split(":")
    if parts[0] == "telnet" and len(parts) >= 4:
        label, kind = parts[1], parts[2]
        if kind == "call":
            return f"BPQ node {label}"
        return f"telnet listener {label} from {':'.join(parts[3:])}"
    if parts[0] == "ax25" and len(parts) >= 3:
        path = parts[2]
        return f"AX.25 port {parts[1]}, " + ("direct" if path == "direct" else f"via {path}")
    if source.startswith("irc:sasl:ip:"):
        return f"SASL from {source.removeprefix('irc:sasl:ip:')}"
    return source


class LoginNotices:
    """The notices of radio login attempts, told as the authenticator decides them."""

    def __init__(self, notify: Notify) -> None:
        self._notify = notify

    def attempt(self, callsign: str, source: str, outcome: str, ok: bool) -> None:
        """One attempt: `outcome` is the authenticator's word for it (`wrong code`, ...).
        SASL's are the IRC server's to tell (it knows the client); only radio ones here."""
        if source.startswith("irc:"):
            return
        how = describe_source(source)
        if ok:
            self._notify(f"{callsign} logged in through {how}", RADIO_LOGINS, "", "")
        else:
            text = f"Failed radio login as {callsign} through {how}: {outcome}"
            # One burst through one node (a BPQ node, an AX.25 port, an address) is one
            # notice and a count, whatever callsigns it claims.
            self._notify(text, RADIO_LOGINS, "failed", node_of(source))

    def alert(self, text: str, source: str) -> None:
        """A guessing alert (`LoginResult.alert`): a burst of failures went on."""
        letter = SASL_LOGINS if source.startswith("irc:") else RADIO_LOGINS
        self._notify(f"Warning: {text}", letter, "alert", node_of(source))


def whois_lines(callsign: str, source: str, since: float) -> list[str]:
    """What an operator's WHOIS says of a radio user (RPL_WHOISSPECIAL): how they are on
    the air (node or port, path) and when they logged in (UTC)."""
    when = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(since))
    return [f"is on the air as {callsign} through {describe_source(source)}, logged in {when}"]
