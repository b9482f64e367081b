"""Glob matching of IRC masks (`*` and `?`), in linear space and O(n*m) worst-case time.

No recursion and no regex: the classic greedy matcher with a single backtrack point
cannot blow up on patterns like `*a*a*a*a*b`, unlike a recursive matcher or a translated
regex with nested `.*`.
"""

from __future__ import annotations


def glob_match(pattern: str, text: str) -> bool:
    """Return whether `text` matches `pattern`; both should already be case-folded."""
    p = t = 0
    star = -1  # index in pattern just after the last '*'
    mark = 0  # position in text where that '*' started matching
    while t < len(text):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star = p + 1
            mark = t
            p += 1
        elif star != -1:
            mark += 1
            t = mark
            p = star
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)
