"""The session core's settings and the actions it asks its adapter to carry out.

Frozen and slotted, as h11's events: `gateway/session/chat.py` returns lists of these,
`gateway/bridge/session.py` carries them out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.callsign import Callsign
from gateway.session.thirdparty import RADIO_SUFFIX
from ircd.casemap import casefold

#: Whose IRC text goes on air (`bridge.third_party`).
THIRD_PARTY = ("all", "identified", "radio")


@dataclass(frozen=True, slots=True)
class Settings:
    login_timeout: float = 180.0
    idle_timeout: float = 900.0
    attempts: int = 3
    failure_pause: float = 2.0
    #: Most bytes handed to the transport at once (a packet).
    chunk_bytes: int = 256
    width: int = 80
    page_lines: int = 20
    queue_lines: int = 30
    join_history: int = 5
    read_lines: int = 20
    third_party: str = "identified"
    #: Hosts of radio users end with this (the "radio" third-party policy).
    radio_suffix: str = RADIO_SUFFIX
    #: Whether the server keeps callsign nicks for their accounts (the embedded one,
    #: `gateway/irc/hooks.py`): a callsign nick is then a logged-in ham's, and may be
    #: named on air (on a network, only a nick seen on allowed text is).
    callsign_nicks_kept: bool = False
    #: Follow the lines sent with a PING (one out at a time), so that the lines the
    #: server never took (it hung or dropped us first) are named when the link is lost
    #: (external networks).
    confirm_sent: bool = False
    #: Folded names of the channels the gateway archives (/NEW, /READ #chan).
    archived: frozenset[str] = frozenset()
    autojoin: tuple[str, ...] = ()
    via: str = ""
    #: The gateway's own nick (mailbox notices).
    service_nick: str = "Gateway"
    #: Whether a source (`nick!user@host`) is one of the gateway's own clients whose text
    #: goes on air whatever the third-party rule (the service nick, bulletin feeds with
    #: on_air). By the full source, not the nick: on an external network anyone may
    #: hold the nick while the gateway's client is away.
    trusted: Callable[[str], bool] = lambda _source: False
    #: Whether a source (and its account, "" if none) holds a nick that names or imitates
    #: a callsign without being its radio user (on a network; gateway/bridge/trust.py).
    squatted: Callable[[str, str], bool] = lambda _source, _account: False
    #: The account whoever set a channel's topic was logged in to, if the server can
    #: tell and the topic is still `text` (the embedded server; None elsewhere).
    topic_account: Callable[[str, str], str | None] = lambda _channel, _text: None
    #: Emit a `Relayed` action for every line to or from the air (MQTT message events).
    report_relayed: bool = False
    #: One line before the first Code: prompt saying what this is.
    intro: str = ""
    #: A BPQ node sends the callsign at once; after this long without it, ask (NOCALL).
    nocall_wait: float = 1.0
    #: Wall time, only for what a person reads (/STAMP, /INFO); every deadline of the
    #: core is on the clock of the `now` its inputs carry (monotonic).
    wall_clock: Callable[[], float] = time.time
    #: The IRC server's case folding of nicks and channel names (its `casemapping`).
    fold: Callable[[str], str] = casefold


# -- actions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Say:
    text: str


@dataclass(frozen=True, slots=True)
class Irc:
    line: str


@dataclass(frozen=True, slots=True)
class CheckCode:
    callsign: Callsign
    code: str


@dataclass(frozen=True, slots=True)
class LoggedIn:
    """Attach the user's IRC client, then call `chat_started` (or `close`)."""

    callsign: Callsign


@dataclass(frozen=True, slots=True)
class Fetch:
    """A store request; answer with `fetched(result)`. `what` is one of the names below."""

    what: str  # "mail", "kill", "new", "archive", "notme"
    number: int | None = None
    channel: str | None = None
    limit: int = 0


@dataclass(frozen=True, slots=True)
class Notify:
    """A notice from the gateway's service nick to an IRC user."""

    nick: str
    text: str


@dataclass(frozen=True, slots=True)
class HoldMail:
    """A private message that overflowed the live queue: keep it in the mailbox."""

    sender: str
    kind: str
    text: str
    #: The sender's account, "" for none (the reader sees which).
    account: str = ""


@dataclass(frozen=True, slots=True)
class SavePref:
    """Keep one of the user's own settings for the next login (`gateway/prefs.py`)."""

    key: str
    value: int


@dataclass(frozen=True, slots=True)
class Close:
    farewell: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Relayed:
    """A chat line went on air (`to_air`) or came from it (`from_air`)."""

    direction: str
    target: str
    sender: str
    text: str


@dataclass(frozen=True, slots=True)
class LeftUnasked:
    """The session left `channel`, which the server put the user in without a /JOIN
    (an operator's SAJOIN, a RENAME) and whose name the third-party rule keeps off the
    air: operators hear of it (the `gateway.thirdparty` log, snomask p)."""

    channel: str


Action = (
    Say | Irc | CheckCode | LoggedIn | Fetch | Notify | HoldMail | SavePref | Close | Relayed
    | LeftUnasked
)  # fmt: skip
