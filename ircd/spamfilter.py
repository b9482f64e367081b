"""Spamfilter: operator regexes matched against what users send (UnrealIRCd style).

A filter names a pattern, the kinds of input it screens (`TARGETS`), an action (`ACTIONS`)
and a reason. Filters come from `irc.spamfilter` in the configuration and from operators
(SPAMFILTER add/del/list, kept in memory only).

Patterns are compiled with google-re2: matching takes time linear in the input, so a
pattern like ``(a+)+$`` cannot freeze the event loop (ProvisionIRCd audit finding 4.7,
which ran user patterns through Python's backtracking `re`). re2 refuses what it cannot
do in linear time (backreferences, lookaround); such a pattern is a config error naming
its line, or a refusal of SPAMFILTER add. Matching is case-insensitive, as UnrealIRCd's is.

Linear is not free: each evaluation is timed with the injected `timer` (nanoseconds,
`time.perf_counter_ns` by default). A filter whose last `WINDOW` evaluations averaged
more than the budget (`irc.limits.spamfilter_budget_ms`), or whose single evaluation
cost the whole window's budget, is disabled, logged and announced to operators; it is
never dropped silently. REHASH re-enables configured filters (and says so).

Bounds: at most `irc.limits.max_spamfilters` filters, patterns of at most `MAX_PATTERN`
characters and `RE2_MAX_MEM` bytes of automaton each, reasons of `MAX_REASON` characters.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import re2

if TYPE_CHECKING:
    pass

log = logging.getLogger("ircd.spamfilter")

#: What a filter can screen. private/channel: PRIVMSG and NOTICE text; part, quit, topic,
#: away: their text; nick: a new nick; user: ``nick!user@host:realname`` at registration
#: and on SETNAME ("realname" is accepted as another name for it).
TARGETS: Final = ("private", "channel", "part", "quit", "topic", "away", "nick", "user")
TARGET_ALIASES: Final = MappingProxyType({"realname": "user"})
#: block: refuse the input (part and quit go through without their text); kill: disconnect;
#: gline: G-line the client's address for `duration` and disconnect; warn: tell operators.
ACTIONS: Final = ("block", "kill", "gline", "warn")
MAX_PATTERN: Final = 400
MAX_REASON: Final = 200
#: Automaton memory per pattern; re2's own default is 8 MiB.
RE2_MAX_MEM: Final = 1 << 20
#: Evaluations the time budget is averaged over.
WINDOW: Final = 8
DEFAULT_REASON: Final = "Matched a spam filter"
#: G-line length when a gline filter gives none (UnrealIRCd's ban-time default).
DEFAULT_GLINE_SECONDS: Final = 86_400


class SpamFilterError(ValueError):
    """A filter was refused; the message says why (shown to operators or in config errors)."""


def compile_pattern(pattern: str) -> Any:
    """The compiled re2 regex for `pattern`; raises SpamFilterError if re2 refuses it."""
    if not pattern:
        raise SpamFilterError("the pattern is empty")
    if len(pattern) > MAX_PATTERN:
        raise SpamFilterError(f"the pattern is longer than {MAX_PATTERN} characters")
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = RE2_MAX_MEM
    options.never_capture = True
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as e:
        detail = e.args[0] if e.args else "invalid"
        text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        raise SpamFilterError(f"re2 cannot compile it (linear-time regexes only): {text}") from e


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """One filter as configured or added; `regex` is compiled when the spec is built."""

    match: str
    targets: frozenset[str]
    action: str
    reason: str = DEFAULT_REASON
    #: Seconds of G-line for action gline (0: permanent).
    duration: int = 0
    regex: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def build(
        cls, match: str, targets: list[str], action: str, reason: str, duration: int = 0
    ) -> FilterSpec:
        """Check every field and compile; raises SpamFilterError."""
        names = [TARGET_ALIASES.get(t, t) for t in targets]
        unknown = [t for t in names if t not in TARGETS]
        if not names or unknown:
            raise SpamFilterError(f"targets must be some of {', '.join(TARGETS)}")
        if action not in ACTIONS:
            raise SpamFilterError(f"action must be one of {', '.join(ACTIONS)}")
        if duration and action != "gline":
            raise SpamFilterError("a duration applies to action gline only")
        reason = reason.strip() or DEFAULT_REASON
        if len(reason) > MAX_REASON:
            raise SpamFilterError(f"the reason is longer than {MAX_REASON} characters")
        regex = compile_pattern(match)
        if action == "gline" and not duration:
            duration = DEFAULT_GLINE_SECONDS
        return cls(match, frozenset(names), action, reason, duration, regex)


class Filter:
    """A filter in force, with its timing figures (all in nanoseconds)."""

    __slots__ = (
        "disabled",
        "evaluations",
        "id",
        "matches",
        "max_ns",
        "origin",
        "recent",
        "recent_sum",
        "spec",
        "total_ns",
    )

    def __init__(self, filter_id: int, spec: FilterSpec, origin: str) -> None:
        self.id = filter_id
        self.spec = spec
        #: "config", or the name of the operator who added it.
        self.origin = origin
        self.matches = 0
        self.evaluations = 0
        self.total_ns = 0
        self.max_ns = 0
        self.recent: deque[int] = deque(maxlen=WINDOW)
        self.recent_sum = 0
        #: Why it was disabled, or None while in force.
        self.disabled: str | None = None

    def describe(self) -> str:
        targets = ",".join(t for t in TARGETS if t in self.spec.targets)
        return f"#{self.id} [{targets}] {self.spec.action} /{self.spec.match}/"


class SpamFilters:
    """The filter table of one server: bounded, timed, and screened per target."""

    def __init__(
        self,
        specs: tuple[FilterSpec, ...],
        *,
        max_filters: int,
        budget_ms: float,
        on_disable: Callable[[Filter], None],
        timer: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        self.timer = timer
        self.max_filters = max_filters
        self.budget_ns = int(budget_ms * 1_000_000)
        self._on_disable = on_disable
        self._ids = itertools.count(1)
        self._filters: dict[int, Filter] = {}
        # Target -> filters screening it, in id order; rebuilt on every change.
        self._by_target: dict[str, tuple[Filter, ...]] = {}
        for spec in specs:
            self._put(Filter(next(self._ids), spec, "config"))
        self._index()

    def __iter__(self) -> Iterator[Filter]:
        return iter(list(self._filters.values()))

    def __len__(self) -> int:
        return len(self._filters)

    def _put(self, f: Filter) -> None:
        self._filters[f.id] = f

    def _index(self) -> None:
        self._by_target = {
            t: tuple(f for f in self._filters.values() if t in f.spec.targets) for t in TARGETS
        }

    def reload(self, specs: tuple[FilterSpec, ...], max_filters: int, budget_ms: float) -> None:
        """Take the configured filters of a new configuration; operators' filters stay.

        A configured filter that is unchanged keeps its id and figures, and is enabled
        again if it was disabled (logged: the operator asked for it by reloading).
        """
        self.max_filters = max_filters
        self.budget_ns = int(budget_ms * 1_000_000)
        old = {f.spec: f for f in self._filters.values() if f.origin == "config"}
        added = [f for f in self._filters.values() if f.origin != "config"]
        self._filters = {}
        for spec in specs:
            f = old.pop(spec, None) or Filter(next(self._ids), spec, "config")
            if f.disabled is not None:
                log.warning("spamfilter %s enabled again by reload", f.describe())
                f.disabled = None
                f.recent.clear()
                f.recent_sum = 0
            self._put(f)
        for f in added:
            if len(self._filters) >= max_filters:
                log.warning(
                    "spamfilter %s dropped: more than %d filters", f.describe(), max_filters
                )
                continue
            self._put(f)
        self._index()

    def add(self, spec: FilterSpec, origin: str) -> Filter:
        """Add an operator's filter; raises SpamFilterError if the table is full."""
        if len(self._filters) >= self.max_filters:
            raise SpamFilterError(f"the spamfilter table is full ({self.max_filters})")
        if any(f.spec == spec for f in self._filters.values()):
            raise SpamFilterError("the same filter exists already")
        f = Filter(next(self._ids), spec, origin)
        self._put(f)
        self._index()
        return f

    def remove(self, filter_id: int) -> Filter:
        """Remove an operator's filter; raises SpamFilterError for unknown or configured ones."""
        f = self._filters.get(filter_id)
        if f is None:
            raise SpamFilterError(f"no spamfilter #{filter_id}")
        if f.origin == "config":
            raise SpamFilterError(
                f"spamfilter #{filter_id} is configured; remove it from irc.spamfilter and REHASH"
            )
        del self._filters[filter_id]
        self._index()
        return f

    def screens(self, target: str) -> bool:
        """Whether any filter (enabled or not) screens `target`: a cheap check first."""
        return bool(self._by_target.get(target))

    def match(self, target: str, text: str) -> Filter | None:
        """The first enabled filter for `target` matching `text`, timing each evaluation."""
        timer = self.timer
        for f in self._by_target.get(target, ()):
            if f.disabled is not None:
                continue
            start = timer()
            hit = f.spec.regex.search(text) is not None
            self._account(f, timer() - start)
            if hit:
                f.matches += 1
                return f
        return None

    def _account(self, f: Filter, elapsed: int) -> None:
        f.evaluations += 1
        f.total_ns += elapsed
        f.max_ns = max(f.max_ns, elapsed)
        if len(f.recent) == WINDOW:
            f.recent_sum -= f.recent[0]
        f.recent.append(elapsed)
        f.recent_sum += elapsed
        allowance = self.budget_ns * WINDOW
        # One evaluation costing a whole window's budget is disabled at once; otherwise
        # the mean of a full window decides, so one slow outlier (a page fault) is not enough.
        if elapsed > allowance or (len(f.recent) == WINDOW and f.recent_sum > allowance):
            mean_us = f.recent_sum / len(f.recent) / 1000
            f.disabled = (
                f"mean {mean_us:.0f} us over the last {len(f.recent)} evaluations, "
                f"budget {self.budget_ns / 1000:.0f} us"
            )
            self._on_disable(f)
