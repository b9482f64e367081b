"""One radio user's session as a sans-IO core: login, then chat through an IRC client.

Inputs are method calls, each with `now`: a typed line, an IRC message for the user's
client, the answer to a code check or a store request, "the link can take more", a
timer. Each returns a list of actions for the adapter (`gateway/bridge.py`) to carry
out: text for the user (`Say`, one chunk at a time, only when the link is ready), IRC
lines to send as the user (`Irc`), a code check, a store request (`Fetch`), a notice
to an IRC user (`Notify`), `Close`. Timers are not actions: after every call the
adapter reads `deadline` and calls `tick(now)` when it is reached. Nothing here reads
a clock, sleeps, or touches a socket or the store.

After login the user types the packet chat language (`chatcommands.py`): plain text
to the current channel, `/COMMAND` for the rest. Replies that need the IRC server end
with a PING whose PONG says every answer has come (the server answers in order), so
the session never mixes one command's answers with the next. Lines typed meanwhile
wait in order, up to a bound; past it the adapter stops reading (telnet) or tells the
peer it is busy (AX.25 RNR), so a typed line is never dropped.
"""

from __future__ import annotations

import enum
import re
import time
from collections import deque
from dataclasses import dataclass, field

from gateway.callsign import Callsign
from gateway.session import login, thirdparty
from gateway.session.chatanswers import answer_lines, fetched_lines, fold, plural, who
from gateway.session.chatanswers import nick_of as _nick
from gateway.session.chatcommands import BARE_WORDS, Command, help_for, resolve
from gateway.session.chatrender import callsign_text, nick_from_typed, split_ctcp, wrap
from gateway.session.chatrender import strip_formatting as _clean
from gateway.session.chattypes import (
    Action,
    CheckCode,
    Close,
    Fetch,
    HoldMail,
    Irc,
    LoggedIn,
    Notify,
    Relayed,
    Say,
    Settings,
)
from gateway.session.outbox import PRIVATE, Outbox
from gateway.session.render import to_ascii
from ircd.protocol import Message

__all__ = [
    "Action", "ChatSession", "CheckCode", "Close", "Fetch", "HoldMail", "Irc", "LoggedIn",
    "Notify", "Phase", "Relayed", "Say", "Settings",
]  # fmt: skip

#: A message number as typed: ASCII digits only (str.isdigit takes "²"), bounded.
_NUMBER = re.compile(r"[0-9]{1,9}")
#: Typed lines held while a command is answered; past this the adapter stops reading.
MAX_TYPED_AHEAD = 16
#: Lines that arrived in the same read past MAX_TYPED_AHEAD are kept up to this.
MAX_TYPED_HARD = 256
MORE_PROMPT = "more? (Enter/N) "
NO_IRC = "Not sent: reconnecting to IRC, try again shortly."
#: Numerics that refuse a JOIN (no such channel, full, invite only, banned, key...).
_JOIN_REFUSED = frozenset({"403", "405", "471", "473", "474", "475", "477", "489"})
STOPPED = "(output stopped)"
#: One refusal notice per IRC sender per this many seconds (third-party rule).
REFUSAL_INTERVAL = 600.0
MAX_REFUSED_SENDERS = 64
#: Caps the session's IRC client asks for: sender accounts (third-party rule), times
#: and batches (history on /JOIN and /READ #chan). The adapter negotiates them and says
#: in `chat_started` whether history is there (an external network may lack it).
CAPS = frozenset({"message-tags", "server-time", "account-tag", "batch", "draft/chathistory"})
HISTORY_CAP = "draft/chathistory"


class Phase(enum.Enum):
    LOGIN = "login"
    STARTING = "starting"
    CHAT = "chat"
    CLOSED = "closed"


@dataclass(slots=True)
class _Waiting:
    """A command waiting for its answers: IRC replies until PONG `token`, or a fetch."""

    kind: str
    token: str = ""
    target: str = ""
    replies: list[Message] = field(default_factory=list)
    #: The PONG of the PING sent before the command came: what follows is its answer
    #: (errors of earlier lines, such as a 401 for a /MSG, come before it).
    started: bool = False


class ChatSession:
    def __init__(
        self,
        settings: Settings,
        now: float,
        *,
        callsign_first: bool = False,
        known_callsign: Callsign | None = None,
    ) -> None:
        self.settings = settings
        self.phase = Phase.LOGIN
        self.callsign: Callsign | None = known_callsign
        self.nick = ""
        self.since = 0.0
        #: When the user last typed a line (idle time for operators).
        self.last_input = now
        self._login = login.Login(
            callsign_first=callsign_first,
            attempts=settings.attempts,
            pause=settings.failure_pause,
            callsign=known_callsign,
            intro=settings.intro,
        )
        self._login_deadline: float | None = now + settings.login_timeout
        self._nocall_at: float | None = (
            now + settings.nocall_wait if callsign_first and known_callsign is None else None
        )
        self._pause_until: float | None = None
        self._idle_deadline: float | None = None
        self._out = Outbox(settings.queue_lines)
        self._ready = True
        self._typed: deque[str] = deque()
        self._waiting: _Waiting | None = None
        self._tokens = 0
        # Paged listing: lines not yet shown; None when no listing runs.
        self._listing: deque[str] | None = None
        self._at_more = False
        self.channels: dict[str, str] = {}  # folded -> name as the server spells it
        #: Whether the server keeps channel history (CHATHISTORY) for /JOIN and /READ.
        self.history = True
        #: The IRC link is down and being connected again (external networks).
        self.irc_down = False
        #: Folded channels joined again after a reconnection, not yet confirmed.
        self._rejoining: set[str] = set()
        self.current: str | None = None  # folded
        self.alert = False
        self.stamp = False
        self._refused: dict[str, float] = {}
        self._actions: list[Action] = []
        self._now = now

    # -- what the adapter reads ---------------------------------------------------------

    @property
    def deadline(self) -> float | None:
        timers = (self._login_deadline, self._pause_until, self._idle_deadline, self._nocall_at)
        times = [t for t in timers if t is not None]
        return min(times) if times else None

    @property
    def at_code_prompt(self) -> bool:
        """Logging in with a callsign given: asked for its code, or checking it."""
        return self.phase is Phase.LOGIN and self._login.callsign is not None

    @property
    def wants_input(self) -> bool:
        return self.phase is not Phase.CLOSED and len(self._typed) < MAX_TYPED_AHEAD

    # -- inputs ----------------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        self._now = now
        for action in self._login.start():
            self._login_action(action)
        return self._done(now)

    def line(self, text: str, now: float) -> list[Action]:
        """A line the user typed (without its line end)."""
        self._now = now
        self.last_input = now
        if self.phase is Phase.LOGIN:
            self._nocall_at = None
            for action in self._login.line(text):
                self._login_action(action)
        elif self.phase is Phase.STARTING:
            self._type_ahead(text)
        elif self.phase is Phase.CHAT:
            self._idle_deadline = now + self.settings.idle_timeout
            self._typed_line(text, now)
        return self._done(now)

    def line_too_long(self, limit: int, now: float) -> list[Action]:
        self._now = now
        self._say(f"Line too long (max {limit}).")
        if self.phase is Phase.LOGIN and self._login.state is login.State.AWAIT_CODE:
            self._say(login.CODE_PROMPT, end="")
        elif self.phase is Phase.LOGIN and self._login.state is login.State.AWAIT_CALLSIGN:
            self._nocall_at = None
            self._say(login.CALLSIGN_PROMPT, end="")
        return self._done(now)

    def checked(self, ok: bool, now: float) -> list[Action]:
        self._now = now
        if self.phase is not Phase.LOGIN:
            return self._done(now)  # timed out or ended meanwhile: no login now
        for action in self._login.checked(ok):
            self._login_action(action, now)
        return self._done(now)

    def chat_started(
        self, now: float, nick: str, new_mail: int, caps: frozenset[str] = CAPS
    ) -> list[Action]:
        """The IRC client is attached as `nick` with `caps`; `new_mail` unread messages wait."""
        self._now = now
        if self.phase is not Phase.STARTING:
            return self._done(now)
        self.phase = Phase.CHAT
        self.nick = nick
        self.history = HISTORY_CAP in caps
        self.since = now
        self._idle_deadline = now + self.settings.idle_timeout
        banner = f"Welcome {self.callsign}. /? for help."
        if new_mail:
            banner += f"\n{plural(new_mail, 'new message')}, /READ"
        self._say(banner)
        for channel in reversed(self.settings.autojoin):
            self._typed.appendleft(f"/JOIN {channel}")
        self._run_typed(now)
        return self._done(now)

    def mail_arrived(self, sender: str, now: float) -> list[Action]:
        self._now = now
        if self.phase is Phase.CHAT:
            self._out.chat(PRIVATE, f"New message from {callsign_text(sender)}, /READ\n")
        return self._done(now)

    def fetched(self, result: object, now: float) -> list[Action]:
        self._now = now
        waiting = self._waiting
        if waiting is None or waiting.token or self.phase is not Phase.CHAT:
            return self._done(now)
        self._waiting = None
        self._show_fetched(waiting, result)
        self._run_typed(now)
        return self._done(now)

    def irc(self, msg: Message, now: float) -> list[Action]:
        self._now = now
        if self.phase is Phase.CHAT:
            self._irc(msg, now)
        return self._done(now)

    def irc_closed(self, reason: str, now: float) -> list[Action]:
        if self.phase in (Phase.CHAT, Phase.STARTING):
            shown = _short(reason)  # the server's words, cut: every byte on air counts
            self._close(f"IRC connection closed ({shown}).", f"IRC closed: {reason}")
        return self._done(now)

    def irc_lost(self, reason: str, now: float) -> list[Action]:
        """The network dropped us (not a kill nor a ban); the adapter connects again.
        One short line says so; commands that need IRC wait for `irc_back`."""
        self._now = now
        if self.phase is Phase.CHAT and not self.irc_down:
            self.irc_down = True
            self._note(f"IRC network lost ({_short(reason)}); reconnecting.")
            if self._waiting is not None and self._waiting.token:
                self._waiting = None  # its answer will never come
            self._run_typed(now)
        return self._done(now)

    def irc_back(self, now: float, nick: str, caps: frozenset[str] = CAPS) -> list[Action]:
        """Connected again as `nick`: back in the channels the user was in."""
        self._now = now
        if self.phase is Phase.CHAT and self.irc_down:
            self.irc_down = False
            self.nick = nick
            self.history = HISTORY_CAP in caps
            names = list(self.channels.values())  # kept: the current one stays current
            self._rejoining = set(self.channels)
            for name in names:
                self._emit(Irc(f"JOIN {name}"))
            rejoined = f"; rejoining {', '.join(names)}" if names else ""
            self._note(f"IRC network back{rejoined}.")
            self._run_typed(now)
        return self._done(now)

    def drained(self, now: float) -> list[Action]:
        """The transport has room for another chunk."""
        self._ready = True
        return self._done(now)

    def tick(self, now: float) -> list[Action]:
        self._now = now
        if self._nocall_at is not None and now >= self._nocall_at:
            self._nocall_at = None
            for action in self._login.prompt_callsign():
                self._login_action(action, now)
        if self._login_deadline is not None and now >= self._login_deadline:
            self._login_deadline = None
            if self.phase is Phase.LOGIN:
                self._close("Login timed out.", "login timeout")
        if self._pause_until is not None and now >= self._pause_until and self.phase is Phase.LOGIN:
            self._pause_until = None
            for action in self._login.resume():
                self._login_action(action, now)
        if self._idle_deadline is not None and now >= self._idle_deadline:
            self._idle_deadline = None
            self._close("Idle timeout. 73!", "idle timeout")
        return self._done(now)

    def gone(self, now: float) -> list[Action]:
        """The transport closed (the user left or the link failed)."""
        self.phase = Phase.CLOSED
        self._out.clear()
        self._login_deadline = self._pause_until = self._idle_deadline = self._nocall_at = None
        return self._done(now)

    def close(self, farewell: str, now: float, reason: str = "by the gateway") -> list[Action]:
        """End the session from outside (revoked, shutdown, taken over)."""
        self._close(farewell, reason)
        return self._done(now)

    # -- login ------------------------------------------------------------------------------

    def _login_action(self, action: login.Action, now: float = 0.0) -> None:
        if isinstance(action, login.Send):
            self._out.reply(action.text)
        elif isinstance(action, login.CheckCode):
            self._emit(CheckCode(action.callsign, action.code))
        elif isinstance(action, login.Pause):
            self._pause_until = now + action.seconds
        elif isinstance(action, login.Accept):
            self.phase = Phase.STARTING
            self.callsign = action.callsign
            self._login_deadline = None
            self._emit(LoggedIn(action.callsign))
        elif isinstance(action, login.Close):
            # Its last words ("Login failed.") go out with the close.
            self._close(self._out.take(1 << 20).rstrip("\n") or None, action.reason)

    # -- typed lines --------------------------------------------------------------------------

    def _typed_line(self, text: str, now: float) -> None:
        if self._listing is not None:
            if self._at_more and not self._out.replies_pending:
                self._answer_more(text, now)
                return
            if not text.strip():
                # An empty line while a listing is on its way stops it.
                self._end_listing()
                self._out.cancel_replies()
                self._say(STOPPED)
                self._run_typed(now)  # what was typed ahead runs now, in order
                return
        elif not text.strip():
            if self._out.replies_pending:
                self._out.cancel_replies()
                self._say(STOPPED)
            return
        self._type_ahead(text)
        self._run_typed(now)

    def _type_ahead(self, text: str) -> None:
        # The adapter stops reading at MAX_TYPED_AHEAD; what one read already held
        # may pass it, up to this hard bound.
        if len(self._typed) >= MAX_TYPED_HARD:
            self._say("(too much typed ahead; line dropped)")
            return
        self._typed.append(text)

    def _answer_more(self, text: str, now: float) -> None:
        self._at_more = False
        word = text.strip().upper()
        if not word:
            self._next_page()
            if self._listing is None:
                self._run_typed(now)  # the last page: what was typed meanwhile runs now
            return
        self._end_listing()
        if word not in ("N", "NO"):
            self._typed.append(text)  # anything else ends the listing and runs
        self._run_typed(now)

    def _run_typed(self, now: float) -> None:
        while (
            self._typed
            and self._waiting is None
            and self._listing is None
            and self.phase is Phase.CHAT
        ):
            self._execute(self._typed.popleft().strip(), now)

    def _execute(self, text: str, now: float) -> None:
        if not text:
            return
        if not text.startswith("/"):
            word = text.upper()
            if self.current is None and word in BARE_WORDS:
                text = "/" + text
            elif self.current is None:
                self._say("You are in no channel: /J #chan to join one, /? for help.")
                return
            else:
                self._send_text(self.current, text)
                return
        verb, _, args = text[1:].partition(" ")
        found = resolve(verb)
        if isinstance(found, list):
            if found:
                self._say(f"/{verb.upper()} is ambiguous: " + " ".join("/" + c.name for c in found))
            else:
                self._say(f"Unknown command /{verb}. /? for help.")
            return
        self._command(found, args.strip(), now)

    def _command(self, command: Command, args: str, now: float) -> None:
        name = command.name
        if name in ("BYE", "QUIT"):
            self._close("73!", "bye")
        elif name == "HELP":
            self._listing_of(help_for(args or "HELP").split("\n"))
        elif name == "INFO":
            since = time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(self.since))
            text = f"You are {self.callsign}, via {self.settings.via}, since {since}."
            if self.nick != str(self.callsign):
                text += f" IRC nick: {self.nick}"
            self._say(text)
        elif name == "JOIN":
            self._join(args)
        elif name in ("LEAVE", "PART"):
            self._leave(args)
        elif name == "CHANNEL":
            self._channel(args)
        elif name == "LIST":
            self._ask("list", "LIST")
        elif name == "WHO":
            target = self._channel_arg(args)
            if target is not None:
                self._ask("who", f"WHO {target}", target=target)
        elif name in ("MSG", "S"):
            to, _, text = args.partition(" ")
            if not to or not text.strip():
                self._say(f"Usage: {command.syntax}")
            else:
                self._send_text(nick_from_typed(to), text.strip())
        elif name == "ME":
            if self.current is None or not args:
                self._say("Usage: /ME text, in a channel")
            else:
                self._send_text(self.current, f"\x01ACTION {args}\x01")
        elif name == "TOPIC":
            self._topic(args)
        elif name == "AWAY":
            self._ask("away", f"AWAY :{args}" if args else "AWAY")
        elif name in ("ALERT", "STAMP"):
            self._toggle(name, args)
        elif name == "READ":
            self._read(args)
        elif name == "KILL":
            if not _NUMBER.fullmatch(args):
                self._say("Usage: /KILL n (the number /READ shows)")
            else:
                self._fetch(Fetch("kill", number=int(args)))
        elif name == "NEW":
            if not self.settings.archived:
                self._say("No channels are archived here.")
            else:
                self._fetch(Fetch("new"))

    # -- commands -------------------------------------------------------------------------------

    def _channel_name(self, text: str) -> str | None:
        text = text.split(" ", 1)[0]
        if not text:
            return None
        name = text if text.startswith("#") else "#" + text  # /J 22 is #22, as on convers
        return name if len(name) > 1 and "," not in name and "\x07" not in name else None

    def _channel_arg(self, args: str) -> str | None:
        """The channel named in `args`, else the current one; says why there is none."""
        if args:
            name = self._channel_name(args)
            if name is None:
                self._say(f"Not a channel: {args}")
            return name
        if self.current is None:
            self._say("You are in no channel: name one.")
            return None
        return self.channels[self.current]

    def _join(self, args: str) -> None:
        name = self._channel_name(args)
        if name is None:
            self._say("Usage: /JOIN #chan")
            return
        if fold(name) in self.channels:
            self.current = fold(name)
            self._say(f"Now in {self.channels[self.current]}.")
            return
        lines = [f"JOIN {name}"]
        history = self.settings.join_history
        if history and self.history:
            lines.append(f"CHATHISTORY LATEST {name} * {history}")
        self._ask("join", *lines, target=name)

    def _leave(self, args: str) -> None:
        target = self._channel_arg(args)
        if target is None:
            return
        if fold(target) not in self.channels:
            self._say(f"You are not in {target}.")
            return
        self._ask("leave", f"PART {target}", target=target)

    def _channel(self, args: str) -> None:
        if args:
            name = self._channel_name(args)
            if name is None or fold(name) not in self.channels:
                self._say(f"You are not in {args}: /J {args} to join.")
                return
            self.current = fold(name)
            self._say(f"Now in {self.channels[self.current]}.")
            return
        if not self.channels:
            self._say("You are in no channel.")
            return
        names = [("*" if f == self.current else "") + n for f, n in self.channels.items()]
        self._say("Channels: " + " ".join(names))

    def _topic(self, args: str) -> None:
        if self.current is None:
            self._say("You are in no channel.")
            return
        name = self.channels[self.current]
        if args:
            self._ask("topic", f"TOPIC {name} :{args}", target=name)
        else:
            self._ask("topic", f"TOPIC {name}", target=name)

    def _toggle(self, name: str, args: str) -> None:
        word = args.upper()
        current = self.alert if name == "ALERT" else self.stamp
        if word in ("ON", "OFF"):
            value = word == "ON"
        elif not word:
            value = not current
        else:
            self._say(f"Usage: /{name} [ON|OFF]")
            return
        if name == "ALERT":
            self.alert = value
        else:
            self.stamp = value
        self._say(f"{name.capitalize()} {'on' if value else 'off'}.")

    def _read(self, args: str) -> None:
        words = args.split()
        if not words:
            self._fetch(Fetch("mail"))
            return
        if _NUMBER.fullmatch(words[0]) and len(words) == 1:
            self._fetch(Fetch("mail", number=int(words[0])))
            return
        name = self._channel_name(words[0])
        start = words[1] if len(words) > 1 else None
        if name is None or (start is not None and not _NUMBER.fullmatch(start)) or len(words) > 2:
            self._say("Usage: /READ, /READ n, /READ #chan [n]")
            return
        limit = self.settings.read_lines
        if fold(name) in self.settings.archived:
            number = int(start) if start is not None else None
            self._fetch(Fetch("archive", number=number, channel=fold(name), limit=limit))
        elif fold(name) not in self.channels:
            self._say(f"{name} is not archived here: /J {name} to join it.")
        elif not self.history:
            self._say(f"This IRC network keeps no history of {name}.")
        else:
            self._ask("history", f"CHATHISTORY LATEST {name} * {limit}", target=name)

    # -- talking to the server ----------------------------------------------------------------

    def _ask(self, kind: str, *lines: str, target: str = "") -> None:
        """Send `lines` and collect the answers until the PONG that follows them."""
        if self.irc_down:
            self._say(NO_IRC)
            return
        self._tokens += 1
        token = f"bridge{self._tokens}"
        self._emit(Irc(f"PING :start-{token}"))
        for line in lines:
            self._emit(Irc(line))
        self._emit(Irc(f"PING :{token}"))
        self._waiting = _Waiting(kind, token=token, target=target)

    def _fetch(self, request: Fetch) -> None:
        self._emit(request)
        self._waiting = _Waiting(request.what, target=request.channel or "")

    def _send_text(self, target: str, text: str) -> None:
        if self.irc_down:
            self._say(NO_IRC)
            return
        # The server cuts the relayed line to fit 512 bytes; our own budget is the same.
        # Nothing is echoed (every byte on air counts); a failure comes back as an error.
        self._emit(Irc(f"PRIVMSG {target} :{text}"))
        if self.settings.report_relayed:
            self._emit(Relayed("from_air", target, self.nick, text))

    # -- from the server --------------------------------------------------------------------------

    def _irc(self, msg: Message, now: float) -> None:
        cmd = msg.command
        waiting = self._waiting
        if cmd == "PING":
            self._emit(Irc(f"PONG :{msg.params[0]}" if msg.params else "PONG"))
            return
        if cmd == "PONG" and waiting is not None and waiting.token:
            if msg.params and msg.params[-1] == "start-" + waiting.token:
                waiting.started = True
            elif msg.params and msg.params[-1] == waiting.token:
                self._waiting = None
                self._answered(waiting, now)
                self._run_typed(now)
            return
        if waiting is not None and waiting.started and (cmd.isdigit() or "batch" in msg.tags):
            waiting.replies.append(msg)
            return
        if "batch" in msg.tags or cmd in ("BATCH", "CAP", "PONG", "MODE"):
            return
        source = _nick(msg.source)
        mine = source is not None and fold(source) == fold(self.nick)
        if cmd in ("PRIVMSG", "NOTICE") and len(msg.params) >= 2:
            self._message(msg, source, now)
        elif cmd == "JOIN" and msg.params:
            if mine:
                if fold(msg.params[0]) not in self.channels:  # a rejoin keeps the current
                    self.current = fold(msg.params[0])
                self._rejoining.discard(fold(msg.params[0]))
                self.channels[fold(msg.params[0])] = msg.params[0]
            elif self.alert:
                self._chat(msg.params[0], f"* {who(source)} joined {msg.params[0]}", current=True)
        elif cmd in ("PART", "KICK") and msg.params:
            self._left(msg, source, mine)
        elif cmd == "QUIT" and self.alert:
            shown = msg.params and msg.params[0] and self._allowed(msg)
            reason = f" ({_clean(msg.params[0])})" if shown else ""
            self._out.chat("", f"* {who(source)} quit{reason}\n")
        elif cmd == "NICK" and msg.params and not mine and self.alert:
            self._out.chat("", f"* {who(source)} is now {who(msg.params[0])}\n")
        elif cmd == "TOPIC" and len(msg.params) >= 2 and self._allowed(msg):
            self._chat(msg.params[0], f"{msg.params[0]} topic by {who(source)}: "
                       f"{_clean(msg.params[1])}")  # fmt: skip
        elif cmd == "KILL":
            self._note(f"Killed by {who(source)}: {msg.params[-1] if msg.params else ''}")
        elif cmd.isdigit() and cmd[0] in "45" and len(msg.params) >= 2:
            about = f"{callsign_text(msg.params[1])}: " if len(msg.params) >= 3 else ""
            self._note(about + _clean(msg.params[-1]))
            if cmd in _JOIN_REFUSED and fold(msg.params[1]) in self._rejoining:
                self._rejoining.discard(fold(msg.params[1]))  # not back in it after all
                self.channels.pop(fold(msg.params[1]), None)
                if self.current == fold(msg.params[1]):
                    self.current = next(iter(self.channels), None)
        elif cmd == "301" and len(msg.params) >= 3:
            text = f": {_clean(msg.params[2])}" if self._topics_shown() else "."
            self._note(f"{callsign_text(msg.params[1])} is away{text}")

    def _left(self, msg: Message, source: str | None, mine: bool) -> None:
        channel = msg.params[0]
        if msg.command == "KICK":
            victim = msg.params[1] if len(msg.params) > 1 else ""
            mine = fold(victim) == fold(self.nick)
            reason = msg.params[2] if len(msg.params) > 2 and self._allowed(msg) else ""
            if mine:
                self._note(f"Kicked from {channel} by {who(source)}" + (
                    f": {_clean(reason)}" if reason else "."))  # fmt: skip
            elif self.alert:
                self._chat(channel, f"* {who(victim)} was kicked from {channel}", current=True)
        elif self.alert and not mine:
            self._chat(channel, f"* {who(source)} left {channel}", current=True)
        if mine:
            self.channels.pop(fold(channel), None)
            if self.current == fold(channel):
                self.current = next(iter(self.channels), None)

    def _message(self, msg: Message, source: str | None, now: float) -> None:
        target, raw = msg.params[0], msg.params[1]
        verb, text = split_ctcp(raw)
        if verb is not None and verb != "ACTION":
            return  # CTCP queries are not for the air
        private = not target.startswith("#")
        if source is None or "!" not in (msg.source or ""):
            self._note(f"-{msg.source or 'server'}- {_clean(text)}")  # a server notice
            return
        refusal = self._refused_because(msg)
        if refusal is not None:
            self._refuse(source, refusal, now)
            return
        text = _clean(text)
        name = who(source)
        if verb == "ACTION":
            body = f"* {name} {text}"
        elif msg.command == "NOTICE":
            body = f"-{name}- {text}"
        else:
            body = f"*{name}* {text}" if private else f"{name}: {text}"
        if self.settings.report_relayed:
            self._emit(Relayed("to_air", target, source, text))
        if private:
            if not self._chat(PRIVATE, body, current=True):
                self._emit(HoldMail(source, "ACTION" if verb else msg.command, text))
            return
        self._chat(target, body)

    def _refused_because(self, msg: Message) -> str | None:
        account = msg.tags.get("account")
        host = (msg.source or "").rpartition("@")[2]
        return thirdparty.refusal(
            self.settings.third_party,
            account=account,
            radio=bool(account) and host.endswith(self.settings.radio_suffix),
            trusted=self.settings.trusted(msg.source or ""),
        )

    def _allowed(self, msg: Message) -> bool:
        return self._refused_because(msg) is None

    def _topics_shown(self) -> bool:
        """Topics and away texts name no account: on air only when everyone may be."""
        return self.settings.third_party == "all"

    def _refuse(self, nick: str, why: str, now: float) -> None:
        key = fold(nick)
        last = self._refused.get(key)
        if last is not None and now - last < REFUSAL_INTERVAL:
            return
        if len(self._refused) >= MAX_REFUSED_SENDERS:
            oldest = min(self._refused, key=self._refused.__getitem__)
            del self._refused[oldest]
        self._refused[key] = now
        who = callsign_text(self.nick)
        self._emit(Notify(nick, f"Not sent on air to {who}: {why} (third-party rule)."))

    # -- answers ----------------------------------------------------------------------------------

    def _answered(self, waiting: _Waiting, now: float) -> None:
        lines = answer_lines(
            waiting.kind,
            waiting.target,
            waiting.replies,
            channels=self.channels,
            current=self.current,
            width=self.settings.width,
            allowed=self._allowed,
            topics=self._topics_shown(),
        )
        self._listing_of(lines)

    def _show_fetched(self, waiting: _Waiting, result: object) -> None:
        self._listing_of(fetched_lines(waiting.kind, waiting.target, result, self.settings.width))

    # -- output ------------------------------------------------------------------------------

    def _chat(self, channel: str, body: str, *, current: bool = False) -> bool:
        """Queue one live line; channel lines outside the current channel name it
        (`current`: the line names its channel itself)."""
        if channel != PRIVATE and fold(channel) != self.current and not current:
            body = f"{channel} {body}"
        if self.stamp:
            body = time.strftime("%H:%M ", time.gmtime(self._now)) + body
        text = "\n".join(wrap(to_ascii(body), self.settings.width)) + "\n"
        key = channel if channel == PRIVATE else self.channels.get(fold(channel), channel)
        return self._out.chat(key, text)

    def _say(self, text: str, end: str = "\n") -> None:
        # 7-bit printable, whatever it quotes (a typed verb, a server's reply).
        self._out.reply(to_ascii(text) + end)

    def _note(self, text: str) -> None:
        """Something the user must see that no command asked for (a kill, a kick, an
        error): it waits for a listing like chat, and an empty line never drops it."""
        self._out.note("\n".join(wrap(text, self.settings.width)) + "\n")

    def _listing_of(self, lines: list[str]) -> None:
        page = self.settings.page_lines
        if page <= 0 or len(lines) <= page + 1:
            self._say("\n".join(lines))
            return
        self._listing = deque(lines)
        self._out.hold()
        self._next_page()

    def _next_page(self) -> None:
        assert self._listing is not None
        page = [self._listing.popleft() for _ in range(min(self.settings.page_lines,
                                                           len(self._listing)))]  # fmt: skip
        self._say("\n".join(page))
        if self._listing:
            self._say(MORE_PROMPT, end="")
            self._at_more = True
        else:
            self._end_listing()

    def _end_listing(self) -> None:
        self._listing = None
        self._at_more = False
        self._out.release()

    def _close(self, farewell: str | None, reason: str) -> None:
        if self.phase is Phase.CLOSED:
            return
        self.phase = Phase.CLOSED
        self._out.clear()
        self._login_deadline = self._pause_until = self._idle_deadline = self._nocall_at = None
        self._emit(Close(farewell, reason))

    def _emit(self, action: Action) -> None:
        self._actions.append(action)

    def _done(self, now: float) -> list[Action]:
        self._now = now
        if self._ready and len(self._out) and self.phase is not Phase.CLOSED:
            chunk = self._out.take(self.settings.chunk_bytes)
            if chunk:
                self._ready = False
                self._actions.append(Say(chunk))
        actions, self._actions = self._actions, []
        return actions


def _short(reason: str, limit: int = 60) -> str:
    """A server's reason for the air: formatting stripped, cut to `limit` characters."""
    text = " ".join(_clean(reason).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
