"""The input side of the core: bytes to lines to commands, one command at a time.

`Server` owns one `Intake` and hands it itself as a `Core` (the handlers' `Context`
plus what only the intake touches: the reply buffer being filled, the runner, the fault
log, the scheduler). Per client: the line buffer is read as flood control
allows; each line is parsed (400, 417, FAIL INVALID_UTF8 answered here) and dispatched
with a reply buffer; a command that raises is contained (logged, one 400, the
connection stays); a command that must wait returns a coroutine, which the injected
`Runner` runs while the client's later lines wait, its replies (and label) held.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

from ircd import numerics as n
from ircd.commands import dispatch
from ircd.context import Context
from ircd.exchanges import add_line
from ircd.protocol import (
    LINE_TOO_LONG,
    MAX_CLIENT_TAG_DATA,
    NEED_DATA,
    IrcParseError,
    parse_line,
)
from ircd.replies import ReplyBuffer
from ircd.runner import Pending

if TYPE_CHECKING:
    from ircd.client import Client, Scheduler
    from ircd.faults import FaultLog
    from ircd.runner import Runner


class _Starting:
    """`Client.pending` while the runner starts a continuation (it may finish at once)."""

    def cancel(self) -> None:
        pass


_STARTING: Final = _Starting()
#: Characters of a command word echoed back (421, FAIL, 400): commands are short tokens.
ECHO_MAX: Final = 32


def shown_command(word: str) -> str:
    """`word` as it may be echoed to its sender: at most `ECHO_MAX` characters, each that
    is not printable ASCII (a control byte such as ^A or ESC, a bidi override) as "?"."""
    if len(word) <= ECHO_MAX and word.isascii() and word.isprintable():
        return word  # every real command: one check, no copy
    return "".join(c if "!" <= c <= "~" else "?" for c in word[:ECHO_MAX])


class Core(Context, Protocol):
    """The server as the intake sees it: a handler's `Context`, and the rest of a command's run."""

    #: The reply buffer of the command being run: messages for its client go there.
    replying: ReplyBuffer | None
    runner: Runner
    faults: FaultLog

    def scheduler(self) -> Scheduler: ...


class Intake:
    """Reading and running commands for one server; its tables stay the server's."""

    __slots__ = ("_core",)

    def __init__(self, core: Core) -> None:
        self._core = core

    def receive(self, client: Client, data: bytes | memoryview) -> None:
        """Take bytes from `client` and run every command they complete, as flood control allows.

        `data` may be a view of a buffer that is reused once this returns: it is copied.
        """
        if client.closed:
            return
        now = self._core.clock()
        client.last_recv = now
        client.ping_sent = None
        client.lines.feed(data)
        self._process(client)

    def _process(self, client: Client) -> None:
        core = self._core
        lim = core.config.limits
        rate = lim.flood_rate
        window = lim.flood_burst / rate if rate else 0.0
        while not client.closed:
            now = core.clock()
            throttled = rate and client.penalty_until - now > window
            if throttled or client.pending is not None:
                if len(client.lines) > lim.recvq:
                    core.disconnect(client, "Excess Flood")
                elif throttled and client.resume_handle is None:
                    delay = client.penalty_until - now - window
                    client.resume_handle = core.scheduler().call_later(delay, self._resume, client)
                return
            item = client.lines.next_line()
            if item is NEED_DATA:
                return
            if rate and not client.flood_exempt:
                client.penalty_until = max(client.penalty_until, now) + 1.0 / rate
            rb = ReplyBuffer(core, client)
            pending: Pending | None = None
            core.replying = rb
            try:
                if item is LINE_TOO_LONG:
                    rb.numeric(n.ERR_INPUTTOOLONG, "Input line was too long")
                else:
                    assert isinstance(item, bytes)
                    pending = self._handle_line(client, item, rb)
            except Exception as exc:
                # The boundary for commands: a bug costs this command, not the connection.
                self._failed(client, rb, exc)
            finally:
                core.replying = None
            if pending is not None and not client.closed:
                # Its replies, label included, wait for the end of the continuation.
                self._start_pending(client, pending, rb)
            else:
                if pending is not None:
                    pending.close()
                rb.flush()

    def _resume(self, client: Client) -> None:
        client.resume_handle = None
        self._process(client)

    def _handle_line(self, client: Client, line: bytes, rb: ReplyBuffer) -> Pending | None:
        if not line.strip(b" "):
            return None  # empty lines are ignored silently (Modern IRC)
        bad_utf8 = False
        try:
            try:
                msg = parse_line(line)
            except IrcParseError as e:
                if e.reason != "invalid UTF-8":
                    raise
                # UTF8ONLY: parse it anyway, to answer with the command and the label.
                msg = parse_line(line, replace_invalid=True)
                bad_utf8 = True
        except IrcParseError as e:
            if e.reason in ("line too long", "tags too long"):
                rb.numeric(n.ERR_INPUTTOOLONG, "Input line was too long")
            else:
                rb.numeric(n.ERR_UNKNOWNERROR, "*", f"Malformed message: {e.reason}")
            return None
        # No command has a control byte or is long: such a word is echoed cleaned (421).
        shown = rb.command = shown_command(msg.command)
        label = msg.tags.get("label")
        if label is not None and "labeled-response" in client.caps and 0 < len(label) <= 64:
            rb.label = label
        # Tag data is what lies between "@" and the space (IRCv3 message-tags: 4094 bytes).
        if msg.tags and line.find(b" ") - 1 > MAX_CLIENT_TAG_DATA:
            rb.numeric(n.ERR_INPUTTOOLONG, "Input line was too long")
            return None
        state = client.multiline
        if state is not None and msg.tags.get("batch") == state.ref:
            add_line(state, msg)  # held until the batch closes; no reply, no ACK
            rb.label = None
            return None
        if bad_utf8 and msg.command != "USER":
            # USER goes on with U+FFFD in place of the bad bytes, so registration never stalls.
            rb.fail(shown, "INVALID_UTF8", text="Message rejected: it is not UTF-8")
            return None
        if shown is not msg.command:
            rb.numeric(n.ERR_UNKNOWNCOMMAND, shown, "Unknown command")
            return None
        return dispatch(self._core, client, msg, rb)

    def _failed(self, client: Client, rb: ReplyBuffer, exc: BaseException) -> None:
        """A command raised: log it (rate-limited), answer with one error, carry on."""
        self._core.faults.record(f"command {rb.command} failed for {client!r}", exc)
        rb.discard()
        if not client.closed:
            rb.numeric(n.ERR_UNKNOWNERROR, rb.command, "Internal error")

    def _start_pending(self, client: Client, coro: Pending, rb: ReplyBuffer) -> None:
        # Later lines must wait: their meaning may depend on this command's outcome.
        client.held = rb
        client.sink.pause_reading()
        client.pending = _STARTING
        job = self._core.runner.run(coro, lambda exc: self._pending_done(client, exc))
        if client.pending is _STARTING:  # else a runner finished it already, synchronously
            client.pending = job

    def replies(self, client: Client) -> ReplyBuffer:
        """Where a deferred command writes its result: the buffer (and label) it started with."""
        held = client.held
        return held if held is not None else ReplyBuffer(self._core, client)

    def run_background(self, coro: Pending) -> None:
        """Run a coroutine that answers nobody (e.g. a store write); failures are logged."""
        self._core.runner.run(coro, self._background_done)

    def _background_done(self, exc: BaseException | None) -> None:
        if exc is not None:
            self._core.faults.record("background task failed", exc)

    def _pending_done(self, client: Client, exc: BaseException | None) -> None:
        client.pending = None
        rb, client.held = client.held, None
        if client.closed:
            return
        if rb is None:
            rb = ReplyBuffer(self._core, client)
        if exc is not None:
            self._failed(client, rb, exc)
        rb.flush()
        client.sink.resume_reading()
        self._process(client)
