"""What a command handler (and every service below the server) is given: `Context`.

Handlers in `ircd.commands` and the services they share (admission, snomask, notify,
screening, caps, welcome, nickclaim) are typed against this Protocol, never against
`ircd.server.Server`, so none of them imports the module that wires them together.
`Server` satisfies it structurally. It holds what a handler reads (configuration,
clocks, the name tables, the per-feature tables), the replies and fan-outs it may send,
and the few actions that change the server's tables (nick, channel membership, modes,
disconnect). What only the embedder or the I/O adapter calls (`receive`, `connect`,
`reload`, `start`, `stop`, `add_command`, `attach`, `end_logins`) is not in it.

Imports here are for types only, and only of modules below the handlers: this module
is the floor the handlers stand on (see docs/ARCHITECTURE.md, "one direction").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias

if TYPE_CHECKING:
    from ircd.channel import Channel
    from ircd.client import Client
    from ircd.config import IrcConfig, OperConfig
    from ircd.history import History
    from ircd.hooks import Accounts, Control, ServerHooks
    from ircd.masks import Subject
    from ircd.monitor import Monitors
    from ircd.passwords import PasswordChecker
    from ircd.protocol import Message
    from ircd.readmarkers import ReadMarkers
    from ircd.replies import ReplyBuffer
    from ircd.runner import Pending
    from ircd.sources import FailurePenalties
    from ircd.spamfilter import SpamFilters
    from ircd.whowas import WhoWas
    from ircd.xlines import BanStore, XLine, XLineTable

__all__ = ("Bans", "CommandSpec", "Context", "Handler")


class Bans(Protocol):
    """What handlers use of the server's admission: the ban table and its store."""

    xlines: XLineTable
    store: BanStore

    def matching_clients(self, line: XLine) -> list[Client]: ...
    def covered_clients(self, line: XLine) -> list[Client]: ...
    def spamfilter_exempt(self, client: Client) -> bool: ...


class Context(Protocol):
    """The server as its handlers see it (`ircd.server.Server` is the one implementation)."""

    # -- identity, configuration, clocks -----------------------------------------------
    name: str
    created: float
    fold: Callable[[str], str]
    clock: Callable[[], float]
    wallclock: Callable[[], float]

    @property
    def config(self) -> IrcConfig: ...

    # -- tables (read by handlers; changed through the actions below) ------------------
    nicks: dict[str, Client]
    clients: dict[int, Client]
    channels: dict[str, Channel]
    registered_count: int
    invisible_count: int
    oper_count: int
    max_registered: int
    extra_commands: dict[str, CommandSpec]

    # -- services ----------------------------------------------------------------------
    hooks: ServerHooks
    accounts: Accounts | None
    control: Control
    admission: Bans
    passwords: PasswordChecker
    oper_passwords: PasswordChecker
    sasl_checks: PasswordChecker
    oper_penalties: FailurePenalties
    history: History
    monitors: Monitors
    whowas: WhoWas
    read_markers: ReadMarkers
    spamfilters: SpamFilters

    # -- lookups -----------------------------------------------------------------------
    def valid_nick(self, nick: str) -> bool: ...
    def valid_channel(self, name: str) -> bool: ...
    def find_nick(self, nick: str) -> Client | None: ...
    def find_channel(self, name: str) -> Channel | None: ...
    def find_oper(self, name: str) -> OperConfig | None: ...
    def subject(self, client: Client) -> Subject: ...
    def peers(self, client: Client) -> Iterable[Client]: ...
    def opers_with(self, letter: str | None) -> list[Client]: ...
    def new_client_id(self) -> int: ...

    # -- output ------------------------------------------------------------------------
    def replies(self, client: Client) -> ReplyBuffer: ...
    def send(self, client: Client, msg: Message) -> None: ...
    def fanout(
        self, recipients: Iterable[Client], msg: Message, exclude: Client | None = None
    ) -> None: ...
    def fanout_channel(
        self, channel: Channel, msg: Message, exclude: Client | None = None
    ) -> None: ...
    def notice_opers(
        self, text: str, rb: ReplyBuffer | None = None, snomask: str | None = None
    ) -> None: ...
    def send_isupport(self, rb: ReplyBuffer) -> None: ...
    def relay_tags(self, client_tags: dict[str, str] | None = None) -> dict[str, str]: ...
    def batch_id(self) -> str: ...
    def timestamp(self) -> str: ...
    def format_time(self, at: float) -> str: ...
    def encode(self, msg: Message, tag_mode: int) -> bytes: ...
    def text_budget(self, client: Client, command: str, target: str) -> int: ...

    # -- actions -----------------------------------------------------------------------
    def disconnect(self, client: Client, reason: str) -> None: ...
    def set_nick(self, client: Client, nick: str) -> None: ...
    def remember_nick(self, client: Client) -> None: ...
    def set_invisible(self, client: Client, on: bool) -> None: ...
    def set_oper(self, client: Client, name: str | None) -> None: ...
    def try_register(self, client: Client, rb: ReplyBuffer) -> Pending | None: ...
    def get_or_create_channel(self, name: str) -> tuple[Channel | None, bool]: ...
    def rename_channel(self, channel: Channel, name: str) -> None: ...
    def add_member(self, channel: Channel, client: Client, status: str) -> None: ...
    def remove_member(self, channel: Channel, client: Client) -> None: ...
    def run_background(self, coro: Pending) -> None: ...


#: A command handler: writes replies to the buffer, returns None or a coroutine to run
#: off the event loop (the client's later input waits for it).
Handler: TypeAlias = Callable[["Context", "Client", "Message", "ReplyBuffer"], "Pending | None"]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """How to run one command: its handler and the checks made before it."""

    handler: Handler
    min_params: int = 0
    allowed_before_registration: bool = False
    oper_only: bool = False
