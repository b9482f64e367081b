"""TOTP verification (RFC 6238): pure, with the clock passed in.

Only `^[0-9]{6}$` is a code (or `^[0-9]{8}$` for an enrollment made with 8 digits,
which authenticator apps also support); one step of drift either side is accepted; a
code whose step is not strictly after the last accepted step is a replay. The caller
persists the returned step before it grants access.
"""

from __future__ import annotations

import enum
import hmac
import re
from dataclasses import dataclass

import pyotp

STEP_SECONDS = 30
DIGITS = 6
#: The code lengths an enrollment may choose.
DIGIT_CHOICES = (6, 8)
WINDOW = 1

# `[0-9]`, not `\d`: `\d` also matches non-ASCII digits.
_CODE = re.compile(r"[0-9]{6}|[0-9]{8}")


class Verdict(enum.Enum):
    #: The code matched a step after the last accepted one.
    OK = "ok"
    #: Not six ASCII digits; never compared against anything.
    MALFORMED = "malformed"
    #: Six digits that match no step in the window.
    WRONG = "wrong"
    #: The code matched a step already used (heard on air and sent again).
    REPLAY = "replay"


@dataclass(frozen=True, slots=True)
class Check:
    verdict: Verdict
    step: int | None = None


def time_step(now: float) -> int:
    """The RFC 6238 counter for a Unix time (no datetime: no local-time surprises)."""
    return int(now // STEP_SECONDS)


def is_well_formed(code: str, digits: int | None = None) -> bool:
    """Six or eight ASCII digits (exactly `digits` of them if given)."""
    if _CODE.fullmatch(code) is None:
        return False
    return digits is None or len(code) == digits


def code_at(secret: str, step: int, digits: int = DIGITS) -> str:
    """The code for one time step (used by enrollment and by tests)."""
    return pyotp.HOTP(secret, digits=digits).at(step)


def check_code(
    secret: str, code: str, now: float, last_step: int | None, digits: int = DIGITS
) -> Check:
    """Check `code` against `secret` at time `now` given the last accepted step.

    A well-formed code of the other length is simply WRONG: it is a guess like any other.
    """
    if not is_well_formed(code):
        return Check(Verdict.MALFORMED)
    current = time_step(now)
    matched: int | None = None
    # Compare against every step in the window, in constant time, without early exit.
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(code_at(secret, step, digits).encode(), code.encode()):
            matched = step
    if matched is None:
        return Check(Verdict.WRONG)
    if last_step is not None and matched <= last_step:
        return Check(Verdict.REPLAY, matched)
    return Check(Verdict.OK, matched)


def new_secret() -> str:
    """A 160-bit random secret in base32 (32 characters), as authenticator apps expect."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, callsign: str, issuer: str, digits: int = DIGITS) -> str:
    """The otpauth:// URI for the QR code (label and issuer URI-encoded, no padding)."""
    return pyotp.TOTP(secret, digits=digits, interval=STEP_SECONDS).provisioning_uri(
        name=callsign, issuer_name=issuer
    )
