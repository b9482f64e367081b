"""Names that pass for others on a screen: callsign lookalikes and the gateway's own nicks.

On air a nick is read, not compared: `NOTEST` passes for `N0TEST`, `N0TES7` too, and
`Gateway_` or `Gatevvay` for the service nick. Folding maps each of the usual confusions
to one character (0/O, 1/I/L, 5/S, 7/T, 8/B; case does not matter), so two names that
fold alike are one name to a reader.

A nick imitates a callsign when its leading part (the letters and digits before any
other character, past any punctuation in front such as `[N0TEST]`'s, with trailing
digits also tried without) folds like some string of
callsign shape. The answer never depends on who is enrolled (issue 12): it is a
property of the text alone. Two places keep ordinary nicks free: the character that
stands where a callsign has its digit must be a digit or an upper-case O I L S T B (a
lower-case o, i, l, s, t or b is not read as a digit there: `alice`, `Bob` and `sysop`
stay free, `ALICE` does not), and a name that is itself a callsign is reserved for
exactly that callsign, as before.
"""

from __future__ import annotations

import re
from typing import Final

from gateway.callsign import is_base_callsign

#: Each confusion folded to one character (upper case): 0/O, 1/I/L, 5/S, 7/T, 8/B.
_FOLD: Final = str.maketrans("01L578", "OIISTB")
#: Upper-case letters a reader may take for a digit, and the digit each folds with.
_DIGIT_LIKE: Final = frozenset("OILSTB")
#: The letters and digits that start a nick, after any IRC punctuation in front
#: (`_2E0ABC`, and decorations a reader skips: `[N0TEST]`, `^N0TEST`, `|N0TEST`).
_LEADING_RUN: Final = re.compile(r"[_\[\]\\`^{}|]*([A-Za-z0-9]+)")
#: Characters IRC clients add to a taken nick (`Gateway_`, `Gateway-2`, `[Gateway]`).
_DECORATION: Final = "_-[]\\`^{}|0123456789"
#: Letter pairs that read as one letter in many fonts.
_PAIRS: Final = (("VV", "W"), ("RN", "M"), ("CL", "D"))


def fold(text: str) -> str:
    """`text` with each confusion folded to one character, in upper case."""
    return text.upper().translate(_FOLD)


def leading_call(nick: str) -> str:
    """The part of a nick a callsign would be (`N0TEST` of `N0TEST-5` and of `[N0TEST]`,
    `2E0ABC` of `_2E0ABC_`), as typed; empty when no letter or digit follows the
    punctuation in front."""
    match = _LEADING_RUN.match(nick)
    return match.group(1) if match else ""


def imitated(nick: str) -> tuple[tuple[str, bool], ...]:
    """What `nick` names or imitates, each as (the callsign, True) when a leading part is
    a callsign, or (the folded form, False) for a lookalike, which every callsign that
    folds alike shares; empty for an ordinary nick. Trailing digits are read both ways:
    `N0TES7` is a lookalike of N0TEST and N0TES itself, `K4LEG1` K4LEG itself."""
    run = leading_call(nick)
    found: list[tuple[str, bool]] = []
    for candidate in _candidates(run) if run else ():
        if is_base_callsign(candidate.upper()):
            found.append((candidate.upper(), True))
        elif _could_be_callsign(candidate):
            found.append((fold(candidate), False))
    return tuple(found)


def may_use(account: str | None, nick: str) -> bool:
    """Whether a client logged in to `account` (None: not logged in) may hold `nick`:
    a callsign's nick is its account's, a lookalike belongs to every account whose
    callsign folds alike (a ham keeps a nick that imitates their own callsign)."""
    claims = imitated(nick)
    if not claims:
        return True
    if account is None:
        return False
    own = account.upper()
    return any(own == name if exact else fold(own) == name for name, exact in claims)


def _candidates(run: str) -> tuple[str, ...]:
    # `N0TEST1` reads as N0TEST: a callsign ends in a letter, so trailing digits are
    # tried without too (a 7 or a 0 at the end may stand for T or O, so with them first).
    bare = run.rstrip("0123456789")
    return (run, bare) if bare != run and len(bare) >= 3 else (run,)


def _could_be_callsign(run: str) -> bool:
    """Whether some callsign folds like `run` and a reader takes its digit for one:
    3-6 characters, a letter (or a digit read as one) at the end, and where a callsign
    has its separating digit (after 1-3 characters), a digit or a letter read as one."""
    if not 3 <= len(run) <= 6 or not run.isascii() or not run.isalnum():
        return False
    if not (run[-1].isalpha() or run[-1] in "01578"):
        return False
    return any(_reads_as_digit(run[p]) for p in range(1, min(3, len(run) - 2) + 1))


def _reads_as_digit(char: str) -> bool:
    return char.isdigit() or char in _DIGIT_LIKE


def gateway_form(nick: str) -> str:
    """What a nick reads as, for comparing with the gateway's own nicks: folded, with the
    decoration clients add to a taken nick stripped and letter pairs read as one."""
    text = nick.strip(_DECORATION).upper() or nick.upper()
    for pair, letter in _PAIRS:
        text = text.replace(pair, letter)
    return fold(text)
