"""What waits to go on air: replies, live chat lines, and the overflow said in one line.

The link carries about 100 bytes a second, so the session never hands the transport
more than one chunk at a time: the rest waits here, where it can still be stopped (an
empty line drops the answer being shown, and only that one: the answers of commands
typed after it still come) and where live chat is bounded. Chat that arrives past the
bound is not dropped silently: it is counted per channel and told in one line,
`+37 more in #chan: /READ #chan`, when the backlog has gone out.

A channel line right under another of the same sender in the same channel, with
nothing between them on the user's screen (no other line, no answer, nothing the user
typed), starts with `: ` instead of the name: the name is the line above's. Which line
is above is known only as lines leave, so the choice is made in `take`.

What the user types is echoed by the node or their terminal, not by us: a typed line
reaches us only after it is on their screen, and a chunk already sent cannot be taken
back. So `typed` makes every line after it name its sender again, and a `: ` line
always continues the line that left just before it, in the same chunk or the one
before; one on its way when the user pressed Enter can land under their typed line,
still meaning that sender (the user's /SHOWNAMES ON avoids it). Only a rule that kept
`: ` within one chunk (one packet) could not land there; it would cost most of what
`: ` saves, as live lines mostly leave one per chunk.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

REPLY = "reply"
CHAT = "chat"
NOTE = "note"
SUMMARY = "summary"
#: The line that says an answer was stopped, where the answer was.
STOP = "stop"
PRIVATE = "*private*"


@dataclass(slots=True)
class _Piece:
    kind: str
    text: str  # ends in '\n' unless it is a prompt
    #: A channel line's sender and channel: under the same `run`, `short` is shown.
    run: str | None = None
    short: str = ""
    #: A reply's answer (`Outbox.begin`): an empty line stops one answer, not the next.
    answer: int = 0


class Outbox:
    def __init__(self, max_chat: int) -> None:
        self.max_chat = max_chat
        self._queue: deque[_Piece] = deque()
        #: Chat that arrived while a listing was in progress: it goes out after it.
        self._held: deque[_Piece] = deque()
        self.holding = False
        self._chat = 0  # chat pieces queued or held
        self._missed: dict[str, int] = {}
        self._summary_queued = False
        #: The `run` of the last piece that left (None: the line above names nobody).
        self._above: str | None = None
        #: The answer replies belong to now (each command the user runs starts one).
        self.answer = 0

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def replies_pending(self) -> bool:
        return any(p.kind == REPLY for p in self._queue)

    def begin(self) -> int:
        """A new answer starts (a command runs): the replies from now on are its own."""
        self.answer += 1
        return self.answer

    def reply(self, text: str, answer: int | None = None) -> None:
        """Command output and prompts: never dropped except by an interrupt. Kept line
        by line, so a long answer leaves one chunk at a time and the rest can be stopped.
        `answer`: whose they are (a listing's later page), else the current answer's."""
        number = self.answer if answer is None else answer
        for line in text.splitlines(keepends=True):
            self._queue.append(_Piece(REPLY, line, answer=number))

    def note(self, text: str) -> None:
        """What no command asked for but the user must see (a kill, a kick, an error):
        held during a listing like chat, never cancelled, never counted as chat."""
        (self._held if self.holding else self._queue).append(_Piece(NOTE, text))

    def said_last(self, run: str) -> None:
        """The last reply queued is a line of `run` (a replayed one, at the end of a
        channel's history): a live line of the same `run` under it is short."""
        if self._queue and self._queue[-1].kind == REPLY:
            self._queue[-1].run = run

    def typed(self) -> None:
        """The user typed a line: it is on screen now, above whatever leaves next."""
        self._above = None

    def chat(self, key: str, text: str, run: str | None = None, short: str = "") -> bool:
        """A live line for channel `key` (or PRIVATE); False if it overflowed (counted).
        `run` (its sender and channel) and `short`: the line as shown right under
        another of the same `run`."""
        if self._chat >= self.max_chat:
            self._missed[key] = self._missed.get(key, 0) + 1
            if not self._summary_queued:
                self._summary_queued = True
                (self._held if self.holding else self._queue).append(_Piece(SUMMARY, ""))
            return False
        self._chat += 1
        piece = _Piece(CHAT, text, run, short) if run is not None else _Piece(CHAT, text)
        (self._held if self.holding else self._queue).append(piece)
        return True

    def hold(self) -> None:
        self.holding = True

    def release(self) -> None:
        self.holding = False
        self._queue.extend(self._held)
        self._held.clear()

    @property
    def stopping(self) -> bool:
        """A stop is told but not yet sent: the user has not seen it take effect."""
        return any(p.kind == STOP for p in self._queue)

    @property
    def shown(self) -> int | None:
        """The answer being shown: the one the first reply queued belongs to."""
        return next((p.answer for p in self._queue if p.kind == REPLY), None)

    def stop(self, notice: str, answer: int) -> None:
        """Drop what is queued of `answer` and put `notice` where it was (at the end if
        none was queued); chat, notes and the other answers stay, in order."""
        kept: deque[_Piece] = deque()
        at: int | None = None
        for piece in self._queue:
            if piece.kind == REPLY and piece.answer == answer:
                at = len(kept) if at is None else at
            else:
                kept.append(piece)
        kept.insert(len(kept) if at is None else at, _Piece(STOP, notice + "\n"))
        self._queue = kept

    def clear(self) -> None:
        self._queue.clear()
        self._held.clear()
        self._chat = 0

    def take(self, max_bytes: int) -> str:
        """The next chunk: whole pieces up to `max_bytes` (at least one piece), or ''."""
        out: list[str] = []
        size = 0
        while self._queue:
            piece = self._queue[0]
            text = self._render(piece)
            if out and size + len(text) > max_bytes:
                break
            self._queue.popleft()
            self._above = piece.run
            if piece.kind == CHAT:
                self._chat -= 1
            out.append(text)
            size += len(text)
        return "".join(out)

    def _render(self, piece: _Piece) -> str:
        if piece.kind == CHAT and piece.run is not None and piece.run == self._above:
            return piece.short
        if piece.kind != SUMMARY:
            return piece.text
        if not piece.text:  # rendered once, when it reaches the head of the queue
            parts = []
            for key, count in self._missed.items():
                if key == PRIVATE:
                    parts.append(f"+{count} private in your mailbox: /READ")
                elif not key:
                    parts.append(f"+{count} more notices")
                else:
                    parts.append(f"+{count} more in {key}: /READ {key}")
            piece.text = "\n".join(parts) + "\n"
            self._missed.clear()
            self._summary_queued = False
        return piece.text
