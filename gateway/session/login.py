"""The login dialogue as a sans-IO state machine: lines and check results in, actions out.

AWAIT_CALLSIGN -> AWAIT_CODE -> CHECKING -> AUTHENTICATED, or back through PAUSED after
a refusal, or CLOSED. The machine never sees a secret, never touches the store and never
sleeps: the code check and the pause after a refusal are actions for the caller.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gateway.callsign import Callsign, parse_callsign

CALLSIGN_PROMPT = "Callsign: "
CODE_PROMPT = "Code: "
REFUSED = "Login failed."
BAD_CALLSIGN = "Not a valid callsign."
CODE_HELP = "Type the code (6 or 8 digits) your authenticator app shows for this gateway; B leaves."
CALLSIGN_HELP = "Type your callsign (KN4XYZ or KN4XYZ-5); B leaves."
MAX_CALLSIGN_TRIES = 3
#: Answers to what is no guess (Enter alone, a help word) before such lines count as
#: guesses: each answer is a prompt on the air, so a stream of CRs must not draw a
#: stream of prompts (3000 bytes of CR/LF drew 25 KB).
MAX_FREE_ANSWERS = 5
#: Words that leave at either prompt (not a guess), and those that ask for help.
LEAVE_WORDS = frozenset({"B", "BYE", "Q", "QUIT"})
HELP_WORDS = frozenset({"H", "HELP", "?"})


class State(enum.Enum):
    AWAIT_CALLSIGN = "await callsign"
    AWAIT_CODE = "await code"
    CHECKING = "checking"
    PAUSED = "paused"
    AUTHENTICATED = "authenticated"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Send:
    """Write text to the user (a prompt has no line end)."""

    text: str


@dataclass(frozen=True, slots=True)
class CheckCode:
    """Check `code` for `callsign`; answer with `checked()`."""

    callsign: Callsign
    code: str


@dataclass(frozen=True, slots=True)
class Pause:
    """Wait `seconds`, then call `resume()`."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Accept:
    callsign: Callsign


@dataclass(frozen=True, slots=True)
class Close:
    reason: str


Action = Send | CheckCode | Pause | Accept | Close


class LoginError(Exception):
    """The caller drove the machine out of order (our bug, not the user's)."""


class Login:
    def __init__(
        self,
        *,
        callsign_first: bool,
        attempts: int = 3,
        pause: float = 2.0,
        callsign: Callsign | None = None,
        intro: str = "",
    ) -> None:
        """`callsign_first`: a BPQ node sends the callsign as the first line, unprompted.
        `callsign`: already known from the transport (the AX.25 source address).
        `intro`: one line saying what this is, before the first Code: prompt."""
        self.state = State.AWAIT_CALLSIGN if callsign is None else State.AWAIT_CODE
        self.callsign = callsign
        self._callsign_first = callsign_first
        self._first_line = True
        self._attempts_left = attempts
        self._callsign_tries = MAX_CALLSIGN_TRIES
        self._free_answers = MAX_FREE_ANSWERS
        self._pause = pause
        self._intro = intro + "\n" if intro else ""

    def start(self) -> list[Action]:
        if self.state is State.AWAIT_CODE:
            return [Send(self._code_prompt())]
        return [] if self._callsign_first else [Send(CALLSIGN_PROMPT)]

    def prompt_callsign(self) -> list[Action]:
        """The node sent no callsign (an APPLICATION line with NOCALL): ask for it."""
        if self.state is not State.AWAIT_CALLSIGN or not self._first_line:
            return []
        self._first_line = False
        return [Send(CALLSIGN_PROMPT)]

    def _code_prompt(self) -> str:
        intro, self._intro = self._intro, ""  # said once, before the first prompt
        return intro + CODE_PROMPT

    def line(self, text: str) -> list[Action]:
        if self.state is State.AWAIT_CALLSIGN:
            return self._on_callsign(text)
        if self.state is State.AWAIT_CODE:
            assert self.callsign is not None
            word = text.strip().upper()
            if word in LEAVE_WORDS:
                self.state = State.CLOSED
                return [Send("73!\n"), Close("left at the code prompt")]
            if word in HELP_WORDS and self._free():
                return [Send(CODE_HELP + "\n" + CODE_PROMPT)]
            self.state = State.CHECKING
            # Authenticator apps show "226 857": the blank is not part of the code.
            return [CheckCode(self.callsign, "".join(text.split()))]
        # Lines typed while a check or a pause is running are dropped, not queued:
        # a queued guess would bypass the pause.
        return []

    def _on_callsign(self, text: str) -> list[Action]:
        first, self._first_line = self._first_line, False
        call = parse_callsign(text)
        if call is not None:
            self.callsign = call
            self.state = State.AWAIT_CODE
            return [Send(self._code_prompt())]
        word = text.strip().upper()
        if first and self._callsign_first:
            # A BPQ application line with NOCALL sends nothing useful: ask for it.
            return [Send(CALLSIGN_PROMPT)]
        if not word and self._free():
            return [Send(CALLSIGN_PROMPT)]  # Enter alone is no guess: ask again
        if word in LEAVE_WORDS:  # no callsign is a bare word: never a bad guess
            self.state = State.CLOSED
            return [Send("73!\n"), Close("left at the callsign prompt")]
        if word in HELP_WORDS and self._free():
            return [Send(CALLSIGN_HELP + "\n" + CALLSIGN_PROMPT)]
        self._callsign_tries -= 1
        if self._callsign_tries <= 0:
            self.state = State.CLOSED
            return [Send(BAD_CALLSIGN + "\n"), Close("no valid callsign")]
        return [Send(BAD_CALLSIGN + "\n" + CALLSIGN_PROMPT)]

    def _free(self) -> bool:
        """Spend one answer to a line that is no guess; False once none are left."""
        self._free_answers -= 1
        return self._free_answers >= 0

    def checked(self, ok: bool) -> list[Action]:
        if self.state is not State.CHECKING or self.callsign is None:
            raise LoginError(f"checked() in state {self.state.value}")
        if ok:
            self.state = State.AUTHENTICATED
            return [Accept(self.callsign)]
        self._attempts_left -= 1
        if self._attempts_left <= 0:
            self.state = State.CLOSED
            return [Send(REFUSED + "\n"), Close("login refused")]
        self.state = State.PAUSED
        return [Send(REFUSED + "\n"), Pause(self._pause)]

    def resume(self) -> list[Action]:
        if self.state is not State.PAUSED:
            raise LoginError(f"resume() in state {self.state.value}")
        self.state = State.AWAIT_CODE
        return [Send(CODE_PROMPT)]
