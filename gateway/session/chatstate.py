"""What one chat session knows and the few things its handlers may do.

`ChatState` is the layer under the session core (`chat.py`) and its two tables, the
radio commands (`chatcommands.py`) and the IRC reactions (`chatirc.py`): the channels,
the output queue, the command waiting for its answers, and the primitives a handler
calls (say, note, queue a chat line, ask the server, ask the store, close). Handlers
see this and nothing above it, so no file below `chat.py` imports it.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from dataclasses import dataclass, field

from gateway.callsign import Callsign, parse_callsign
from gateway.session import thirdparty
from gateway.session.chatnames import SOMEONE, VouchedNicks
from gateway.session.chattypes import (
    Action,
    Close,
    Fetch,
    HoldMail,
    Irc,
    Notify,
    Relayed,
    Settings,
)
from gateway.session.outbox import PRIVATE, Outbox
from gateway.session.render import callsign_text, nick_of, strip_formatting, to_ascii, who, wrap
from ircd.protocol import Message

MORE_PROMPT = "more? (Enter/N) "
NO_IRC = "Not sent: reconnecting to IRC, try again shortly."
#: Lines sent and not yet confirmed by the server's PONG, the oldest kept to name when
#: the link is lost (the rest are counted: a radio user types far fewer between two
#: answers of a live server).
MAX_UNSURE = 8
#: One refusal notice per IRC sender per this many seconds (third-party rule).
REFUSAL_INTERVAL = 600.0
MAX_REFUSED_SENDERS = 64
#: The most lines of history a user may ask for on /JOIN (/HISTORY n).
MAX_HISTORY = 20
#: Replies kept for one command's answer: a /LIST of a large network is tens of
#: thousands of lines, of which 200 are shown. Past it they are counted by command
#: (at most MAX_MORE_KINDS of them).
MAX_REPLIES = 1000
MAX_MORE_KINDS = 16


#: /ALERT lines shown at once, then one every ALERT_EVERY seconds (`alert_line`).
ALERT_BURST = 10
ALERT_EVERY = 30.0


class Phase(enum.Enum):
    LOGIN = "login"
    STARTING = "starting"
    CHAT = "chat"
    CLOSED = "closed"


@dataclass(slots=True)
class Waiting:
    """A command waiting for its answers: IRC replies until PONG `token`, or a fetch."""

    kind: str
    token: str = ""
    target: str = ""
    replies: list[Message] = field(default_factory=list)
    #: Replies past MAX_REPLIES, counted by command, not kept.
    more: dict[str, int] = field(default_factory=dict)
    #: The PONG of the PING sent before the command came: what follows is its answer
    #: (errors of earlier lines, such as a 401 for a /MSG, come before it).
    started: bool = False


class ChatState:
    """The session's state and output primitives, shared by the core and its tables."""

    def __init__(self, settings: Settings, now: float, callsign: Callsign | None) -> None:
        self.settings = settings
        #: The server's case folding (its `casemapping`), for nicks and channel names.
        self.fold = settings.fold
        self.phase = Phase.LOGIN
        self.callsign = callsign
        self.nick = ""
        #: When the chat started, wall time (shown to the user and operators).
        self.since = 0.0
        #: Notes of logins the owner may deny (/NOTME) were shown at this login.
        self.deniable = False
        #: When the user last typed a line, on the monotonic clock of `now`.
        self.last_input = now
        self._out = Outbox(settings.queue_lines)
        self._ready = True
        self._typed: deque[str] = deque()
        self._waiting: Waiting | None = None
        self._tokens = 0
        # Paged listing: lines not yet shown; None when no listing runs.
        self._listing: deque[str] | None = None
        #: The answer the listing's pages belong to (`Outbox.begin`).
        self._listing_answer = 0
        self._at_more = False
        #: The last chunk handed to the link ended with `more?` (it is on screen).
        self._prompt_last = False
        self.channels: dict[str, str] = {}  # folded -> name as the server spells it
        #: Whether the server keeps channel history (CHATHISTORY) for /JOIN and /READ.
        self.history = True
        #: The IRC link is down and being connected again (external networks).
        self.irc_down = False
        #: Folded channels joined again after a reconnection, not yet confirmed.
        self.rejoining: set[str] = set()
        #: The last netsplit told (its QUIT reason) and when: its QUITs come in a burst.
        self._split: tuple[str, float] | None = None
        self.current: str | None = None  # folded
        self.alert = False
        #: /ALERT lines' bucket (tokens, when counted) and those not shown since one was.
        self._alerts: tuple[float, float | None] = (ALERT_BURST, None)
        self._alerts_unshown = 0
        self.stamp = False
        #: The sender named on every channel line, never `: ` (/SHOWNAMES).
        self.show_names = False
        #: Lines of history on /JOIN the user chose (/HISTORY); None: the sysop's.
        self.join_history: int | None = None
        self._refused: dict[str, float] = {}
        #: Folded channel -> the topic an allowed sender set while the user was there
        #: (at most one per channel the user is in).
        self._topics_seen: dict[str, str] = {}
        #: Private messages this session sent to the mailbox (the live queue was full),
        #: per sender: already counted in `+N private in your mailbox`, so the mailbox's
        #: `New message from` for each is not said (nor counted) again.
        self._own_holds: dict[str, int] = {}
        #: Nicks seen on text the third-party rule allows: they may be named on air.
        self.vouched = VouchedNicks()
        #: Lines sent (`confirm_sent`), numbered; the last one a PONG confirmed; the
        #: oldest of those in between, with their text.
        self._said = 0
        self._confirmed = 0
        self._unsure: deque[tuple[int, str]] = deque()
        #: The number of the `PING :said-N` out (0: none). One at a time: a PING per
        #: line doubled what a pasted burst costs on ngircd (docs/PERFORMANCE.md).
        self._pinged = 0
        self._actions: list[Action] = []

    def idle(self, now: float) -> float:
        """Seconds since the user last typed a line."""
        return now - self.last_input

    # -- channels ---------------------------------------------------------------------------

    def is_me(self, nick: str | None) -> bool:
        return nick is not None and self.fold(nick) == self.fold(self.nick)

    def channel_name(self, text: str) -> str | None:
        text = text.split(" ", 1)[0]
        if not text:
            return None
        name = text if text.startswith("#") else "#" + text  # /J 22 is #22, as on convers
        return name if len(name) > 1 and "," not in name and "\x07" not in name else None

    def channel_arg(self, args: str) -> str | None:
        """The channel named in `args`, else the current one; says why there is none."""
        if args:
            name = self.channel_name(args)
            if name is None:
                self.say(f"Not a channel: {args}")
            return name
        if self.current is None:
            self.say("You are in no channel: name one.")
            return None
        return self.channels[self.current]

    def forget_channel(self, channel: str) -> None:
        """No longer in `channel`: another one becomes current if it was."""
        self.channels.pop(self.fold(channel), None)
        self._topics_seen.pop(self.fold(channel), None)
        if self.current == self.fold(channel):
            self.current = next(iter(self.channels), None)

    # -- talking to the server and the store -------------------------------------------------

    def ask(self, kind: str, *lines: str, target: str = "") -> None:
        """Send `lines` and collect the answers until the PONG that follows them."""
        if self.irc_down:
            self.say(NO_IRC)
            return
        self._tokens += 1
        token = f"bridge{self._tokens}"
        self.emit(Irc(f"PING :start-{token}"))
        for line in lines:
            self.emit(Irc(line))
        self.emit(Irc(f"PING :{token}"))
        self._waiting = Waiting(kind, token=token, target=target)

    def fetch(self, request: Fetch, answer: str = "") -> None:
        """Ask the store; `answer`: how its result is shown (`fetched_lines`), else
        as `request.what`."""
        self.emit(request)
        self._waiting = Waiting(answer or request.what, target=request.channel or "")

    def send_text(self, target: str, text: str) -> None:
        if self.irc_down:
            self.say(NO_IRC)
            return
        # The server cuts the relayed line to fit 512 bytes; our own budget is the same.
        # Nothing is echoed (every byte on air counts); a failure comes back as an error.
        self.emit(Irc(f"PRIVMSG {target} :{text}"))
        if self.settings.confirm_sent:
            self._said += 1
            if len(self._unsure) < MAX_UNSURE:
                self._unsure.append((self._said, text))
            if not self._pinged:  # else the PING out's PONG asks for the rest
                self._ping_said()
        if self.settings.report_relayed:
            self.emit(Relayed("from_air", target, self.nick, text))

    def confirmed(self, token: str) -> bool:
        """Whether `token` (a PONG's) confirms the lines sent up to its PING."""
        number = token.removeprefix("said-")
        if number == token or not (number.isascii() and number.isdigit() and len(number) < 16):
            return False
        self._confirmed = max(self._confirmed, min(int(number), self._said))
        while self._unsure and self._unsure[0][0] <= self._confirmed:
            self._unsure.popleft()
        if self._pinged and int(number) >= self._pinged:
            self._pinged = 0
            if self._said > self._confirmed:  # lines sent after that PING: confirm them too
                self._ping_said()
        return True

    def _ping_said(self) -> None:
        self._pinged = self._said
        self.emit(Irc(f"PING :said-{self._said}"))

    def unsure_note(self) -> None:
        """The link is gone: name the lines the server may never have taken, once."""
        self._pinged = 0  # its PONG will never come
        count = self._said - self._confirmed
        if count <= 0:
            return
        if self._unsure and self._unsure[0][0] == self._confirmed + 1:
            first = " ".join(strip_formatting(self._unsure[0][1]).split())
            first = first if len(first) <= 40 else first[:37] + "..."
            more = f" (and {count - 1} more)" if count > 1 else ""
            self.note(f"Maybe not sent (IRC did not answer): {first}{more}")
        else:  # the oldest were confirmed after the cap: their text is gone
            self.note(f"Maybe not sent (IRC did not answer): your last {count} lines")
        self._unsure.clear()
        self._confirmed = self._said

    # -- the third-party rule -----------------------------------------------------------------

    def refused_because(self, msg: Message) -> str | None:
        s = self.settings
        return thirdparty.refusal_for(
            s.third_party, msg, radio_suffix=s.radio_suffix, trusted=s.trusted,
            squatted=s.squatted,
        )  # fmt: skip

    def allowed(self, msg: Message) -> bool:
        return self.refused_because(msg) is None

    def names_shown(self) -> bool:
        """Whether names IRC users chose (nicks, channels) go on air whoever chose them."""
        return self.settings.third_party == "all"

    def saw_sender(self, msg: Message, *, tagged: bool) -> str | None:
        """Learn from `msg` whether its sender's nick may be named on air. `tagged`: a
        command every server tags with the account (JOIN, PRIVMSG), whose lack of the
        tag takes a vouch back; other commands can only give one. Returns why the
        sender's text may not go on air (`refused_because`), judged once per message."""
        nick = nick_of(msg.source)
        if nick is None or "!" not in (msg.source or ""):
            return None
        refusal = self.refused_because(msg)
        if tagged or refusal is None:
            self.vouched.saw(self.fold(nick), refusal is None)
        return refusal

    def named(self, nick: str, host: str = "") -> bool:
        """Whether `nick` (at `host`, when known) may be named on air: under `all`; the
        user's own; one seen on allowed text; or, where the server keeps callsign nicks
        for their accounts, a callsign nick (a logged-in ham's; under `radio`, only at a
        radio host, which the embedded server gives only the gateway's clients)."""
        if self.names_shown() or self.is_me(nick) or self.fold(nick) in self.vouched:
            return True
        return self.kept_callsign(nick, host)

    def kept_callsign(self, nick: str, host: str) -> bool:
        """Whether `nick` at `host` was held by a user the rule lets on air, whenever it
        was seen: a callsign nick where the server keeps those for their accounts
        (only a client logged in to the callsign may hold it) and, under `radio`, at a
        radio host (which the embedded server gives only the gateway's clients)."""
        s = self.settings
        if not s.callsign_nicks_kept or parse_callsign(callsign_text(nick)) is None:
            return False
        return s.third_party == "identified" or host.endswith(s.radio_suffix)

    def name_of(self, source: str | None) -> str:
        """The nick of `source` (`nick!user@host` or a nick) as shown on air, or
        `someone` when it may not be named (issue 19, finding 8)."""
        nick = nick_of(source)
        if not nick or source is None:
            return who(nick)
        host = source.rpartition("@")[2] if "@" in source else ""
        return who(nick) if self.named(nick, host) else SOMEONE

    def known_channel(self, channel: str) -> bool:
        """A channel whose name the user or the sysop chose: one the user is in, one
        the gateway archives or joins at login."""
        key = self.fold(channel)
        sysop = self.settings.archived | {self.fold(c) for c in self.settings.autojoin}
        return key in self.channels or key in sysop

    def foreign(self, channel: str) -> bool:
        """A channel the user is not in, under a rule that keeps others' names off the
        air: what the server still says about it (a forced join being left) is not shown."""
        return not self.names_shown() and self.fold(channel) not in self.channels

    def asked_to_join(self, channel: str) -> bool:
        """Whether the user asked for `channel` (/JOIN, or rejoining after a reconnection)."""
        return self._asked("join", channel) or self.fold(channel) in self.rejoining

    def asked_to_leave(self, channel: str) -> bool:
        """Whether the user asked to leave `channel` (/LEAVE): else someone made them."""
        return self._asked("leave", channel)

    def _asked(self, kind: str, channel: str) -> bool:
        waiting = self._waiting
        return (
            waiting is not None
            and waiting.kind == kind
            and self.fold(waiting.target) == self.fold(channel)
        )

    def topic_vouched(self, channel: str, setter: str, text: str) -> bool:
        """A topic the rule lets on air though topics name no account: the user's own,
        one of the gateway's, one this session saw an allowed sender set, or one whose
        setter (`nick!user@host`, as the server's 333 names it) was an allowed user
        when it was set, even before the user joined (`kept_callsign`; under
        `identified`, logged in to an account as the server remembers it)."""
        nick, _, host = setter.partition("!")
        if self.is_me(nick) or (setter and self.settings.trusted(setter)):
            return True
        s = self.settings
        if s.third_party == "identified" and s.topic_account(channel, text):
            if nick and host:  # its setter was identified: the nick may be named, as live
                self.vouched.saw(self.fold(nick), True)
            return True
        if "@" in host and self.kept_callsign(nick, host.rpartition("@")[2]):
            return True
        return self._topics_seen.get(self.fold(channel)) == text

    def topic_seen(self, channel: str, text: str, allowed: bool) -> None:
        """A live TOPIC in a channel the user is in: remember whether it may go on air."""
        key = self.fold(channel)
        if allowed and key in self.channels:
            self._topics_seen[key] = text
        else:
            self._topics_seen.pop(key, None)

    def topics_shown(self) -> bool:
        """Topics and away texts name no account: on air only when everyone may be."""
        return self.settings.third_party == "all"

    def refuse(self, nick: str, why: str, now: float) -> None:
        key = self.fold(nick)
        last = self._refused.get(key)
        if last is not None and now - last < REFUSAL_INTERVAL:
            return
        if len(self._refused) >= MAX_REFUSED_SENDERS:
            oldest = min(self._refused, key=self._refused.__getitem__)
            del self._refused[oldest]
        self._refused[key] = now
        who = callsign_text(self.nick)
        self.emit(Notify(nick, f"Not sent on air to {who}: {why} (third-party rule)."))

    def restore(self, prefs: dict[str, int]) -> None:
        """The user's own settings, kept from an earlier login."""
        self.stamp = bool(prefs.get("stamp", self.stamp))
        self.alert = bool(prefs.get("alert", self.alert))
        self.show_names = bool(prefs.get("shownames", self.show_names))
        if "history" in prefs:
            self.join_history = max(0, min(MAX_HISTORY, prefs["history"]))

    def hold_private(self, hold: HoldMail) -> None:
        """A private message past the live bound: counted in the overflow line, held."""
        key = self.fold(hold.sender)
        if key in self._own_holds or len(self._own_holds) < MAX_REFUSED_SENDERS:
            self._own_holds[key] = self._own_holds.get(key, 0) + 1
        self.emit(hold)

    def held_by_me(self, sender: str) -> bool:
        """Whether the mailbox's news of `sender`'s message is of one counted already."""
        key = self.fold(sender)
        left = self._own_holds.get(key, 0)
        if not left:
            return False
        if left == 1:
            del self._own_holds[key]
        else:
            self._own_holds[key] = left - 1
        return True

    # -- output ------------------------------------------------------------------------------

    def chat(
        self, channel: str, body: str, *, current: bool = False, sender: str | None = None
    ) -> bool:
        """Queue one live line; channel lines outside the current channel name it
        (`current`: the line names its channel itself). `sender`: the line is
        `sender: text` in `channel`, shown as `: text` right under another of the
        same sender there (`Outbox`), when `channel` is the current one and the user
        has not asked for every name (/SHOWNAMES)."""
        stamp = ""
        if self.stamp:
            stamp = time.strftime("%H:%M ", time.gmtime(self.settings.wall_clock()))
        folded = self.fold(channel)
        key = channel if channel == PRIVATE else self.channels.get(folded, channel)
        here = channel == PRIVATE or folded == self.current or current
        full = self._lines(stamp + (body if here else f"{channel} {body}"))
        if sender is None or not here or self.show_names or not body.startswith(f"{sender}: "):
            return self._out.chat(key, full)
        short = self._lines(stamp + body[len(sender) :])
        return self._out.chat(key, full, self._run(folded, sender), short)

    def run_of(self, channel: str, sender: str) -> str:
        """What lines said by `sender` in `channel` share (`Outbox`)."""
        return self._run(self.fold(channel), sender)

    def _run(self, folded_channel: str, sender: str) -> str:
        return f"{folded_channel} {self.fold(sender)}"

    def _lines(self, body: str) -> str:
        return "\n".join(wrap(to_ascii(body), self.settings.width)) + "\n"

    def chat_about(self, text: str) -> None:
        """A live line about someone in no channel of theirs (a quit, a nick change)."""
        self._out.chat("", text + "\n")

    def alert_line(self, channel: str | None, text: str, now: float) -> None:
        """A join, leave, kick, quit or nick change (/ALERT ON), in `channel` or about
        someone in none: a few at once, then one every ALERT_EVERY seconds, so that one
        user leaving and joining again all day cannot keep the link busy (the airtime
        review's finding 1). Those past it are counted, and the count is told with the
        next one shown."""
        tokens, then = self._alerts
        if then is not None:
            tokens = min(ALERT_BURST, tokens + (now - then) / ALERT_EVERY)
        if tokens < 1:
            self._alerts = (tokens, now)
            self._alerts_unshown += 1
            return
        self._alerts = (tokens - 1, now)
        if self._alerts_unshown:
            self.chat_about(f"* {self._alerts_unshown} more joins, leaves and quits not shown")
            self._alerts_unshown = 0
        if channel is None:
            self.chat_about(text)
        else:
            self.chat(channel, text, current=True)

    def say(self, text: str, end: str = "\n", answer: int | None = None) -> None:
        # 7-bit printable, whatever it quotes (a typed verb, a server's reply).
        self._out.reply(to_ascii(text) + end, answer)

    def split_seen(self, servers: str, now: float, named: bool) -> None:
        """A QUIT of a netsplit between `servers` (`a.example b.example`): one line per
        split, naming them if `named` (the reason's sender may be on air)."""
        if self._split is not None and self._split[0] == servers and now < self._split[1] + 60:
            return
        self._split = (servers, now)
        where = f" ({servers})" if named else ""
        self.note(f"Netsplit{where}: lines to or from users on the other side are lost "
                  "until they return.")  # fmt: skip

    def note(self, text: str) -> None:
        """Something the user must see that no command asked for (a kill, a kick, an
        error): it waits for a listing like chat, and an empty line never drops it."""
        self._out.note("\n".join(wrap(text, self.settings.width)) + "\n")

    def listing(self, lines: list[str]) -> None:
        page = self.settings.page_lines
        if page <= 0 or len(lines) <= page + 1:
            self.say("\n".join(lines))
            return
        self._listing = deque(lines)
        self._listing_answer = self._out.answer
        self._out.hold()
        self._next_page()

    def _next_page(self) -> None:
        assert self._listing is not None
        page = [self._listing.popleft() for _ in range(min(self.settings.page_lines,
                                                           len(self._listing)))]  # fmt: skip
        self.say("\n".join(page), answer=self._listing_answer)
        if self._listing:
            self.say(MORE_PROMPT, end="", answer=self._listing_answer)
            self._at_more = True
        else:
            self._end_listing()

    def _end_listing(self) -> None:
        self._listing = None
        self._at_more = False
        self._prompt_last = False
        self._out.release()

    def _stop_timers(self) -> None:
        """Overridden by the core: no deadline outlives a closed session."""

    def end(self, farewell: str | None, reason: str) -> None:
        """Close the session: `farewell` is its last line on air."""
        if self.phase is Phase.CLOSED:
            return
        self.phase = Phase.CLOSED
        self._out.clear()
        self._stop_timers()
        if farewell:  # 7-bit and wrapped like any text (an operator's kick reason)
            farewell = "\n".join(wrap(strip_formatting(farewell), self.settings.width))
        self.emit(Close(farewell, reason))

    def emit(self, action: Action) -> None:
        self._actions.append(action)
