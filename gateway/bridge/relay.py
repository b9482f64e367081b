"""Mail passed between the gateways of one network (`irc.external.service_nicks`): the
lines of the protocol, sans IO (the store-and-forward around them is forward.py).

On a network each gateway's service nick takes `/msg <service> CALL text` for the hams
enrolled at that gateway. An IRC user who picks another gateway's service nick is not
turned away: a service nick whose gateway does not serve CALL keeps the message and
passes it on to every other gateway's service nick, as a CTCP `GWMAIL` line that carries
a message id, the sender's full source and account. The gateway where CALL is enrolled
holds it as if it had been sent there (third-party rule included); each gateway answers
with a `GWMAIL-ACK` notice (`held`, `refused <what to tell the sender>`, `not-here`),
and the passing gateway tells the sender a refusal from its own nick: which gateway
serves CALL is never shown. So with expiry: held mail that expires unread is told to
the gateway that passed it on (`GWMAIL-EXPIRED nick call`), which tells the sender. A
gateway's service nick says `GWMAIL-HELLO` to the others when it comes on IRC, so mail
kept for its hams goes out at once.

No loops: a passed-on message is never passed on again. No forgery: these lines are
believed only from a service nick the network shows at the address of the network's
`radio_key` (trust.py); from anyone else a `GWMAIL` line is ordinary text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VERB = "GWMAIL"
ACK = "GWMAIL-ACK"
HELLO = "GWMAIL-HELLO"
EXPIRED = "GWMAIL-EXPIRED"
#: Kinds of mail (what the reader sees: a message or an action).
KINDS = frozenset({"PRIVMSG", "ACTION"})
#: What a gateway answers to a passed message.
HELD, REFUSED, NOT_HERE = "held", "refused", "not-here"
#: The longest line a server relays, CR LF excluded.
LINE = 510
#: The longest refusal an ack carries (it is told to the sender as it comes).
REFUSAL_MAX = 300
_ID = re.compile(r"[0-9a-f]{8,32}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WORD = re.compile(r"[^\x00-\x20\x7f!@]{1,64}")


@dataclass(frozen=True, slots=True)
class Passed:
    """One message passed on: for `call`, from `source` (`nick!user@host`)."""

    call: str
    source: str
    #: The sender's account on the network, "" if none.
    account: str
    kind: str
    text: str
    #: The passing gateway's id for it: a resend carries the same (the receiver holds once).
    id: str = "0" * 16

    def payload(self) -> str:
        account = self.account or "*"
        fields = f"{self.id} {self.call} {self.source} {account} {self.kind} {self.text}"
        return f"\x01{VERB} {fields}\x01"

    @property
    def nick(self) -> str:
        return self.source.partition("!")[0]


@dataclass(frozen=True, slots=True)
class Ack:
    """A gateway's answer to a passed message: HELD, REFUSED (with what to tell the
    sender) or NOT_HERE."""

    id: str
    outcome: str
    text: str = ""

    def payload(self) -> str:
        tail = f" {self.text}" if self.outcome == REFUSED else ""
        return f"\x01{ACK} {self.id} {self.outcome}{tail}\x01"


@dataclass(frozen=True, slots=True)
class Expired:
    """Mail a gateway passed on to us expired unread here: that gateway tells `nick`
    (its sender), as if it had held it itself (our nick would name the gateway)."""

    nick: str
    call: str

    def payload(self) -> str:
        return f"\x01{EXPIRED} {self.nick} {self.call}\x01"


def expired_text(call: str) -> str:
    return f"Your message to {call} expired unread."


def parse_expired(text: str) -> Expired | None:
    if not (text.startswith(f"\x01{EXPIRED} ") and text.endswith("\x01")):
        return None
    nick, _, call = text[len(EXPIRED) + 2 : -1].partition(" ")
    if not (_WORD.fullmatch(nick) and _WORD.fullmatch(call)):
        return None
    return Expired(nick, call)


def room(via: str, to: str, passed: Passed) -> int:
    """Characters of text left over (negative: too long) when `via` (our full source)
    sends `passed` to `to`: the receiving server relays at most LINE."""
    head = f":{via} PRIVMSG {to} :"
    return LINE - len(head.encode()) - len(passed.payload().encode())


def parse(text: str) -> Passed | None:
    """The `GWMAIL` line in `text`, or None if it is none (or malformed)."""
    if not (text.startswith(f"\x01{VERB} ") and text.endswith("\x01")):
        return None
    fields = text[len(VERB) + 2 : -1].split(" ", 5)
    if len(fields) != 6:
        return None
    id_, call, source, account, kind, body = fields
    if not _ID.fullmatch(id_) or kind not in KINDS or "!" not in source or not body.strip():
        return None
    return Passed(call, source, "" if account == "*" else account, kind, body, id_)


def parse_ack(text: str) -> Ack | None:
    """The `GWMAIL-ACK` line in `text`, or None; a refusal's text is cleaned for a notice."""
    if not (text.startswith(f"\x01{ACK} ") and text.endswith("\x01")):
        return None
    id_, _, rest = text[len(ACK) + 2 : -1].partition(" ")
    outcome, _, said = rest.partition(" ")
    if not _ID.fullmatch(id_) or outcome not in (HELD, REFUSED, NOT_HERE):
        return None
    said = _CONTROL.sub("", said).strip()[:REFUSAL_MAX]
    if outcome == REFUSED and not said:
        return None
    return Ack(id_, outcome, said if outcome == REFUSED else "")


def hello() -> str:
    return f"\x01{HELLO}\x01"


def is_hello(text: str) -> bool:
    return text == hello()
