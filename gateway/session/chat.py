"""One radio user's session as a sans-IO core: login, then chat through an IRC client.

Inputs are method calls, each with `now` on a monotonic clock: a typed line, an IRC
message for the user's client, the answer to a code check or a store request, "the
link can take more", a timer. Each returns a list of actions for the adapter
(`gateway/bridge/session.py`) to carry out: text for the user (`Say`, one chunk at a
time, only when the link is ready), IRC lines to send as the user (`Irc`), a code
check, a store request (`Fetch`), a notice to an IRC user (`Notify`), `Close`. Timers
are not actions: after every call the adapter reads `deadline` (on the clock of
`now`) and calls `tick(now)` when it is reached. Nothing here sleeps or touches a
socket or the store, and the only clock read is the wall clock of the settings, for
what a person reads (/STAMP, /INFO).

After login the user types the packet chat language: plain text to the current
channel, `/COMMAND` for the rest, each command one entry of the table in
`chatcommands.py`; each IRC command the core reacts to is one entry of `chatirc.py`.
Both tables' handlers see the state below this class (`chatstate.py`). Replies that
need the IRC server end with a PING whose PONG says every answer has come (the server
answers in order), so the session never mixes one command's answers with the next.
Lines typed meanwhile wait in order, up to a bound; past it the adapter stops reading
(telnet) or tells the peer it is busy (AX.25 RNR), so a typed line is never dropped.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from gateway.callsign import Callsign
from gateway.session import login
from gateway.session.chatanswers import (
    Context,
    answer_lines,
    fetched_lines,
    last_sayer,
    names_listed,
    plural,
)
from gateway.session.chatcommands import BARE_WORDS, resolve
from gateway.session.chatirc import reaction_for
from gateway.session.chatstate import (
    MAX_MORE_KINDS,
    MAX_REPLIES,
    MORE_PROMPT,
    NO_IRC,
    ChatState,
    Phase,
    Waiting,
)
from gateway.session.chattypes import (
    Action,
    CheckCode,
    Close,
    Fetch,
    HoldMail,
    Irc,
    LeftUnasked,
    LoggedIn,
    Notify,
    Relayed,
    SavePref,
    Say,
    Settings,
)
from gateway.session.outbox import PRIVATE
from gateway.session.render import mail_sender, reason_kind
from gateway.session.render import strip_formatting as _clean
from ircd.protocol import Message

__all__ = [
    "MORE_PROMPT", "NO_IRC", "Action", "ChatSession", "CheckCode", "Close", "Fetch", "HoldMail",
    "Irc", "LeftUnasked", "LoggedIn", "Notify", "Phase", "Relayed", "SavePref", "Say", "Settings",
]  # fmt: skip

#: Typed lines held while a command is answered; past this the adapter stops reading.
MAX_TYPED_AHEAD = 16
#: Lines that arrived in the same read past MAX_TYPED_AHEAD are kept up to this.
MAX_TYPED_HARD = 256
STOPPED = "(output stopped)"
#: Caps the session's IRC client asks for: sender accounts (third-party rule), times
#: and batches (history on /JOIN and /READ #chan). The adapter negotiates them and says
#: in `chat_started` whether history is there (an external network may lack it).
CAPS = frozenset({"message-tags", "server-time", "account-tag", "batch", "draft/chathistory"})
HISTORY_CAP = "draft/chathistory"


class Status(NamedTuple):
    """What the adapter acts on after each input (`ChatSession.status`)."""

    #: The callsign asked for its code (or whose code is being checked), else None.
    prompt_for: Callsign | None
    #: When `tick` is due next.
    deadline: float | None
    #: False while typed lines are held past MAX_TYPED_AHEAD: stop reading.
    wants_input: bool


class ChatSession(ChatState):
    """The core: the inputs an adapter calls, login, typed lines and the server's answers."""

    def __init__(
        self,
        settings: Settings,
        now: float,
        *,
        callsign_first: bool = False,
        known_callsign: Callsign | None = None,
    ) -> None:
        super().__init__(settings, now, known_callsign)
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
        #: When the network was lost (`irc_lost`), to say how long was missed.
        self._lost_at = now

    # -- what the adapter reads ---------------------------------------------------------

    @property
    def deadline(self) -> float | None:
        timers = (self._login_deadline, self._pause_until, self._idle_deadline, self._nocall_at)
        times = [t for t in timers if t is not None]
        return min(times) if times else None

    @property
    def claimed(self) -> Callsign | None:
        """The callsign logged in, else the one given for the login (for the log)."""
        return self.callsign or self._login.callsign

    @property
    def at_code_prompt(self) -> bool:
        """Logging in with a callsign given: asked for its code, or checking it."""
        return self.phase is Phase.LOGIN and self._login.callsign is not None

    @property
    def wants_input(self) -> bool:
        return self.phase is not Phase.CLOSED and len(self._typed) < MAX_TYPED_AHEAD

    @property
    def status(self) -> Status:
        """What the adapter acts on after each input, read in one look."""
        return Status(self.claimed if self.at_code_prompt else None, self.deadline,
                      self.wants_input)  # fmt: skip

    # -- inputs ----------------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        for action in self._login.start():
            self._login_action(action)
        return self._done(now)

    def line(self, text: str, now: float) -> list[Action]:
        """A line the user typed (without its line end)."""
        self.last_input = now
        self._out.typed()  # echoed on the user's screen by the node or the terminal
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
        self._out.typed()
        self.say(f"Line too long (max {limit}).")
        if self.phase is Phase.LOGIN and self._login.state is login.State.AWAIT_CODE:
            self.say(login.CODE_PROMPT, end="")
        elif self.phase is Phase.LOGIN and self._login.state is login.State.AWAIT_CALLSIGN:
            self._nocall_at = None
            self.say(login.CALLSIGN_PROMPT, end="")
        return self._done(now)

    def checked(self, ok: bool, now: float) -> list[Action]:
        if self.phase is not Phase.LOGIN:
            return self._done(now)  # timed out or ended meanwhile: no login now
        for action in self._login.checked(ok):
            self._login_action(action, now)
        return self._done(now)

    def chat_started(
        self,
        now: float,
        nick: str,
        new_mail: int,
        caps: frozenset[str] = CAPS,
        prefs: dict[str, int] | None = None,
        notes: tuple[str, ...] = (),
        deniable: bool = False,
    ) -> list[Action]:
        """The IRC client is attached as `nick` with `caps`; `new_mail` unread messages
        wait; `prefs` are the user's own settings kept from an earlier login; `notes`
        are for the owner (logins elsewhere, codes tried off the air); `deniable`: some
        are of logins the owner may deny (/NOTME)."""
        if self.phase is not Phase.STARTING:
            return self._done(now)
        self.restore(prefs or {})
        self.phase = Phase.CHAT
        self.nick = nick
        self.history = HISTORY_CAP in caps
        self.deniable = deniable
        self.since = self.settings.wall_clock()  # read by a person (/INFO, operators)
        self._idle_deadline = now + self.settings.idle_timeout
        banner = f"Welcome {self.callsign}. /? for help."
        if new_mail:
            banner += f"\n{plural(new_mail, 'new message')}, /READ"
        for note in notes:
            banner += f"\n{note}"
        self.say(banner)
        for channel in reversed(self.settings.autojoin):
            self._typed.appendleft(f"/JOIN {channel}")
        self._run_typed(now)
        return self._done(now)

    def mail_arrived(self, sender: str, now: float, account: str | None = "") -> list[Action]:
        if self.phase is Phase.CHAT and not self.held_by_me(sender):
            self._out.chat(PRIVATE, f"New message from {mail_sender(sender, account)}, /READ\n")
        return self._done(now)

    def fetched(self, result: object, now: float) -> list[Action]:
        waiting = self._waiting
        if waiting is None or waiting.token or self.phase is not Phase.CHAT:
            return self._done(now)
        self._waiting = None
        self._show_fetched(waiting, result)
        self._run_typed(now)
        return self._done(now)

    def irc(self, msg: Message, now: float) -> list[Action]:
        if self.phase is Phase.CHAT:
            self._irc(msg, now)
        return self._done(now)

    def irc_closed(self, reason: str, now: float) -> list[Action]:
        if self.phase in (Phase.CHAT, Phase.STARTING):
            shown = self._closing(reason)  # the server's words, cut: every byte counts
            self.end(f"IRC connection closed ({shown}).", f"IRC closed: {reason}")
        return self._done(now)

    def irc_lost(self, reason: str, now: float) -> list[Action]:
        """The network dropped us (not a kill nor a ban); the adapter connects again.
        One short line says so; commands that need IRC wait for `irc_back`."""
        if self.phase is Phase.CHAT and not self.irc_down:
            self.irc_down = True
            self._lost_at = now
            self.note(f"IRC network lost ({self._closing(reason)}); reconnecting.")
            self.unsure_note()
            if self._waiting is not None and self._waiting.token:
                self._waiting = None  # its answer will never come
            self._run_typed(now)
        return self._done(now)

    def irc_back(self, now: float, nick: str, caps: frozenset[str] = CAPS) -> list[Action]:
        """Connected again as `nick`: back in the channels the user was in."""
        if self.phase is Phase.CHAT and self.irc_down:
            self.irc_down = False
            self.vouched.clear()  # who holds which nick now is learnt again
            self.nick = nick
            self.history = HISTORY_CAP in caps
            names = list(self.channels.values())  # kept: the current one stays current
            self.rejoining = set(self.channels)
            for name in names:
                self.emit(Irc(f"JOIN {name}"))
            rejoined = f"; rejoining {', '.join(names)}" if names else ""
            # What was said meanwhile never reached us: say so, once, and where to read it
            # (the network's history; the gateway's archive was off the network as well).
            readable = [n for n in names if self.fold(n) not in self.settings.archived]
            missed = (
                f"Said meanwhile: /READ {readable[0]}"
                if self.history and readable
                else "Anything said meanwhile is lost."
            )
            down = max(1, round(now - self._lost_at))
            self.note(f"IRC network back after {down} s{rejoined}. {missed}")
            self._run_typed(now)
        return self._done(now)

    def reconfigure(self, changes: dict[str, object], now: float) -> list[Action]:
        """New settings from a reload (the third-party rule, the width, the pager's and
        the queue's sizes): they apply from the next line."""
        self.settings = replace(self.settings, **changes)  # type: ignore[arg-type]
        self._out.max_chat = self.settings.queue_lines
        return self._done(now)

    def drained(self, now: float) -> list[Action]:
        """The transport has room for another chunk."""
        self._ready = True
        return self._done(now)

    def tick(self, now: float) -> list[Action]:
        if self._nocall_at is not None and now >= self._nocall_at:
            self._nocall_at = None
            for action in self._login.prompt_callsign():
                self._login_action(action, now)
        if self._login_deadline is not None and now >= self._login_deadline:
            self._login_deadline = None
            if self.phase is Phase.LOGIN:
                self.end("Login timed out.", "login timeout")
        if self._pause_until is not None and now >= self._pause_until and self.phase is Phase.LOGIN:
            self._pause_until = None
            for action in self._login.resume():
                self._login_action(action, now)
        if self._idle_deadline is not None and now >= self._idle_deadline:
            self._idle_deadline = None
            self.end("Idle timeout. 73!", "idle timeout")
        return self._done(now)

    def gone(self, now: float) -> list[Action]:
        """The transport closed (the user left or the link failed)."""
        self.phase = Phase.CLOSED
        self._out.clear()
        self._login_deadline = self._pause_until = self._idle_deadline = self._nocall_at = None
        return self._done(now)

    def close(self, farewell: str, now: float, reason: str = "by the gateway") -> list[Action]:
        """End the session from outside (revoked, shutdown, taken over)."""
        self.end(farewell, reason)
        return self._done(now)

    def _closing(self, reason: str) -> str:
        """A server's closing reason for the air: under a third-party rule other than
        `all`, only its kind, since an operator's kill or ban reason is their text."""
        return _short(reason if self.names_shown() else reason_kind(reason))

    # -- login ------------------------------------------------------------------------------

    def _login_action(self, action: login.Action, now: float = 0.0) -> None:
        if isinstance(action, login.Send):
            self._out.reply(action.text)
        elif isinstance(action, login.CheckCode):
            self.emit(CheckCode(action.callsign, action.code))
        elif isinstance(action, login.Pause):
            self._pause_until = now + action.seconds
        elif isinstance(action, login.Accept):
            self.phase = Phase.STARTING
            self.callsign = action.callsign
            self._login_deadline = None
            self.emit(LoggedIn(action.callsign))
        elif isinstance(action, login.Close):
            # Its last words ("Login failed.") go out with the close.
            self.end(self._out.take(1 << 20).rstrip("\n") or None, action.reason)

    # -- typed lines --------------------------------------------------------------------------

    def _typed_line(self, text: str, now: float) -> None:
        if self._listing is not None and self._prompt_live:
            self._answer_more(text, now)
        elif not text.strip():
            self._stop_output(now)
        else:
            self._type_ahead(text)
            self._run_typed(now)

    def _stop_output(self, now: float) -> None:
        """An empty line stops the answer being shown (a listing: with its later pages);
        chat held meanwhile follows, and so do the answers of commands typed after it,
        which ran. A second empty line before the first's `(output stopped)` has left
        stops nothing more: the user has not seen the first take effect."""
        shown = self._out.shown
        listing = self._listing is not None
        if self._out.stopping or (shown is None and not listing):
            return
        if listing and shown in (None, self._listing_answer):
            self._out.stop(STOPPED, self._listing_answer)
            self._end_listing()
        elif shown is not None:  # an answer given below the listing's prompt, or before it
            self._out.stop(STOPPED, shown)
        self._run_typed(now)  # what was typed ahead runs now, in order

    @property
    def _prompt_out(self) -> bool:
        """The page and its `more?` have left the outbox: typed lines may run."""
        return self._at_more and not self._out.replies_pending

    @property
    def _prompt_live(self) -> bool:
        """`more?` is the last thing on the user's screen: a typed line answers it."""
        return self._prompt_out and self._prompt_last

    def _type_ahead(self, text: str) -> None:
        # The adapter stops reading at MAX_TYPED_AHEAD; what one read already held
        # may pass it, up to this hard bound.
        if len(self._typed) >= MAX_TYPED_HARD:
            self.say("(too much typed ahead; line dropped)")
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
        # During a listing, lines typed while the page flowed run once it is out (a
        # chat line goes to IRC at once, a command answers below the prompt).
        while (
            self._typed
            and self._waiting is None
            and (self._listing is None or self._prompt_out)
            and self.phase is Phase.CHAT
        ):
            self._execute(self._typed.popleft().strip(), now)

    def _execute(self, text: str, now: float) -> None:
        if not text:
            return
        self._out.begin()  # what is said from now on is this line's answer
        if not text.startswith("/"):
            word = text.upper()
            if self.current is None and word in BARE_WORDS:
                text = "/" + text
            elif self.current is None:
                self.say("You are in no channel: /J #chan to join one, /? for help.")
                return
            else:
                self.send_text(self.current, text)
                return
        verb, _, args = text[1:].partition(" ")
        if not verb:  # `/` alone: not the list of every command (every byte counts)
            self.say("/? for help.")
            return
        found = resolve(verb)
        if isinstance(found, list):
            if found:
                self.say(f"/{verb.upper()} is ambiguous: " + " ".join("/" + c.name for c in found))
            else:
                self.say(f"Unknown command /{verb}. /? for help.")
            return
        found.handler(self, found, args.strip())

    # -- from the server --------------------------------------------------------------------------

    def _irc(self, msg: Message, now: float) -> None:
        if msg.command == "PING":
            self.emit(Irc(f"PONG :{msg.params[0]}" if msg.params else "PONG"))
        elif not self._collected(msg, now) and "batch" not in msg.tags:
            reaction = reaction_for(msg.command)
            if reaction is not None and len(msg.params) >= reaction.min_params:
                reaction.handler(self, msg, now)

    def _collected(self, msg: Message, now: float) -> bool:
        """Whether `msg` belongs to the command waiting for its answers (its PONG, or
        a reply after the PONG that started it); a PONG is never shown."""
        waiting = self._waiting
        if msg.command == "PONG":
            if msg.params and self.confirmed(msg.params[-1]):
                return True
            if waiting is not None and waiting.token and msg.params:
                if msg.params[-1] == "start-" + waiting.token:
                    waiting.started = True
                elif msg.params[-1] == waiting.token:
                    self._waiting = None
                    self._answered(waiting)
                    self._run_typed(now)
            return True
        started = waiting is not None and waiting.started
        if started and (msg.command.isdigit() or "batch" in msg.tags):
            assert waiting is not None
            if len(waiting.replies) < MAX_REPLIES:
                waiting.replies.append(msg)
            elif msg.command in waiting.more or len(waiting.more) < MAX_MORE_KINDS:
                waiting.more[msg.command] = waiting.more.get(msg.command, 0) + 1
            return True
        return False

    # -- answers ----------------------------------------------------------------------------------

    def _answered(self, waiting: Waiting) -> None:
        if waiting.kind == "join":
            # Those already in a joined channel: any of them may hold a nick this
            # session last saw elsewhere, so none is vouched for until seen again
            # (nobody, when the names were too many to keep).
            if "353" in waiting.more:
                self.vouched.clear()
            for nick in names_listed(waiting.replies):
                self.vouched.forget(self.fold(nick))
        ctx = Context(
            self.channels,
            self.current,
            self.settings.width,
            self.fold,
            allowed=self.allowed,
            topics=self.topics_shown(),
            topic_vouched=self.topic_vouched,
            names=self.names_shown(),
            known_channel=self.known_channel,
            named=self.named,
            every_name=self.show_names,
            more=waiting.more,
        )
        self.listing(answer_lines(waiting.kind, waiting.target, waiting.replies, ctx))
        # The history shown ends with a line said in the channel: a live line of the
        # same sender right under it starts with `: ` (ChatState.chat).
        sayer = last_sayer(waiting.replies, self.allowed)
        shown = waiting.kind in ("join", "history") and self._listing is None
        if shown and sayer is not None and self.fold(waiting.target) in self.channels:
            self._out.said_last(self.run_of(waiting.target, sayer))

    def _show_fetched(self, waiting: Waiting, result: object) -> None:
        self.listing(fetched_lines(waiting.kind, waiting.target, result, self.settings.width))

    # -- output ------------------------------------------------------------------------------

    def _stop_timers(self) -> None:
        self._login_deadline = self._pause_until = self._idle_deadline = self._nocall_at = None

    def _done(self, now: float) -> list[Action]:
        if self._ready and len(self._out) and self.phase is not Phase.CLOSED:
            if not self.wants_input:
                # Reading is paused: what the user types now waits at the node or the
                # TNC, already echoed on their screen above whatever leaves next (only
                # lines in one chunk, one packet, are sure to be under each other).
                self._out.typed()
            chunk = self._out.take(self.settings.chunk_bytes)
            if chunk:
                self._ready = False
                self._actions.append(Say(chunk))
                if self._listing is not None:
                    self._prompt_last = chunk.endswith(MORE_PROMPT)
                    self._run_typed(now)
        elif self._ready and self._prompt_out and not self._prompt_last:
            # A typed command answered below `more?`: show it again, so that it is
            # live (the last thing on screen) and the listing can go on.
            self.say(MORE_PROMPT, end="", answer=self._listing_answer)
            return self._done(now)
        actions, self._actions = self._actions, []
        return actions


def _short(reason: str, limit: int = 60) -> str:
    """A server's reason for the air: formatting stripped, cut to `limit` characters."""
    text = " ".join(_clean(reason).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
