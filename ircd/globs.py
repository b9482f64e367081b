"""Glob matching of IRC masks: ``*`` any run of characters, ``?`` one character.

`Glob` matches a mask's ``*`` (any run) and ``?`` (one character); every other character,
``\\`` included, stands for itself. It splits the pattern at its stars: the first piece
must start the text, the last end it, and each one between is found by `str.find` at
its leftmost place after the one before (leftmost is always right, as a piece has a fixed
length). No recursion, no backtracking past a star and no regex (the audit's finding 4.6
about ProvisionIRCd's recursive `is_match`): a piece without ``?`` costs one C-level
search, one with ``?`` one search and one compare per place tried, at most about one
place per character of the text. A channel's 100 bans of ``*aaaaaaaaaaaaaaaaaaaab000*``
no longer cost a character-by-character walk each (the hostile review's finding 2;
docs/PERFORMANCE.md).

`glob_match` matches once; a `Glob` is split once, for code that matches one pattern
often (channel bans). Both take text already case-folded (`ircd.masks.fold`).
"""

from __future__ import annotations

import operator


class _Wild:
    """A star-free piece of a glob holding `?`: found by the literal run of it that the
    text holds fewest of, then checked whole at each place that run is found with one
    `itemgetter` compare (C code)."""

    __slots__ = ("_fixed", "_get", "_runs", "size")

    def __init__(self, piece: str) -> None:
        self.size = len(piece)
        known = [i for i, c in enumerate(piece) if c != "?"]
        # A piece of `?` only fits anywhere it has room: no getter, no run.
        self._get = operator.itemgetter(*known) if known else None
        self._fixed: object = self._get(piece) if self._get is not None else None
        runs = []
        at = 0
        for run in piece.split("?"):
            if run:
                runs.append((at, run))
            at += len(run) + 1
        self._runs = tuple(runs)

    def fits(self, text: str, i: int) -> bool:
        """Whether the piece fits `text` at `i`; the caller checked the length."""
        return self._get is None or self._get(text[i : i + self.size]) == self._fixed

    def find(self, text: str, start: int, end: int) -> int:
        """The leftmost `i` in start..end-size where the piece fits, or -1.

        Each place tried moves `start` on, and a pattern's pieces search disjoint spans
        of the text: at most about len(text) places in all, each one `find` and one
        compare; the scarcest run makes them few unless the text is made for it.
        """
        last = end - self.size
        if last < start:
            return -1
        if not self._runs:
            return start
        key_at, key = min(self._runs, key=lambda r: text.count(r[1], start + r[0], end))
        while start <= last:
            j = text.find(key, start + key_at, last + key_at + len(key))
            if j < 0:
                return -1
            start = j - key_at
            if self.fits(text, start):
                return start
            start += 1
        return -1


_Piece = str | _Wild


def _piece(text: str) -> _Piece:
    return _Wild(text) if "?" in text else text


def _fits(piece: _Piece, text: str, i: int) -> bool:
    if isinstance(piece, str):
        return text.startswith(piece, i)
    return piece.fits(text, i)


def _size(piece: _Piece) -> int:
    return len(piece) if isinstance(piece, str) else piece.size


def _match_pieces(head: _Piece, middle: tuple[_Piece, ...], tail: _Piece, text: str) -> bool:
    """The text starts with `head`, ends with `tail` and holds each `middle` piece in
    order in between; the leftmost place of each is the right one (a piece has a fixed
    length, so a later place could only leave less room for the rest)."""
    end = len(text) - _size(tail)
    pos = _size(head)
    if end < pos or not _fits(head, text, 0) or not _fits(tail, text, end):
        return False
    for piece in middle:
        i = text.find(piece, pos, end) if isinstance(piece, str) else piece.find(text, pos, end)
        if i < 0:
            return False
        pos = i + _size(piece)
    return True


def glob_match(pattern: str, text: str) -> bool:
    """Return whether `text` matches `pattern`; both should already be case-folded."""
    if "?" in pattern:
        return len(text) >= len(pattern) - pattern.count("*") and Glob(pattern).match(text)
    if "*" not in pattern:
        return pattern == text
    head, *middle, tail = pattern.split("*")
    return _match_pieces(head, tuple(p for p in middle if p), tail, text)


def _stars_last(pattern: str) -> str:
    """The same glob with each ``?`` before the stars next to it and one star for many:
    ``*?`` and ``?*`` both mean one character or more, and ``*?*?*?`` becomes ``???*``
    (one piece, not three to search for)."""
    while "*?" in pattern:
        pattern = pattern.replace("*?", "?*")
    while "**" in pattern:
        pattern = pattern.replace("**", "*")
    return pattern


class Glob:
    """A glob split at its stars once, for code that matches it often (channel bans)."""

    __slots__ = ("_head", "_head_size", "_middle", "_min", "_star", "_tail", "_tail_size")

    def __init__(self, pattern: str) -> None:
        pattern = _stars_last(pattern)
        parts = pattern.split("*")
        self._star = len(parts) > 1
        self._head = _piece(parts[0])
        self._tail = _piece(parts[-1]) if self._star else ""
        self._head_size, self._tail_size = _size(self._head), _size(self._tail)
        self._middle = tuple(_piece(p) for p in parts[1:-1] if p)
        #: Characters of the text the pieces need: a shorter text cannot match.
        self._min = len(pattern) - pattern.count("*")

    def match(self, text: str) -> bool:
        n = len(text)
        if n < self._min or (not self._star and n != self._min):
            return False
        head, tail = self._head, self._tail
        if not (text.startswith(head) if isinstance(head, str) else head.fits(text, 0)):
            return False
        end = n - self._tail_size  # no less than the head's end: n >= self._min
        if not (text.endswith(tail) if isinstance(tail, str) else tail.fits(text, end)):
            return False
        pos = self._head_size
        for piece in self._middle:
            if isinstance(piece, str):
                i = text.find(piece, pos, end)
                pos = i + len(piece)
            else:
                i = piece.find(text, pos, end)
                pos = i + piece.size
            if i < 0:
                return False
        return True
