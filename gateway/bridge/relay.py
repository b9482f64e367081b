"""Mail passed between the gateways of one network (`irc.external.service_nicks`).

On a network each gateway's service nick takes `/msg <service> CALL text` for the hams
enrolled at that gateway. An IRC user who picks another gateway's service nick is not
turned away: a service nick whose gateway does not serve CALL passes the message on,
once, to every other gateway's service nick, as a CTCP `GWMAIL` line that carries the
sender's full source and account. The gateway where CALL is enrolled holds it as if it
had been sent there (third-party rule included); the others drop it. The sender reads
the same answer whichever gateway serves CALL, as on one box.

No loops: a passed-on message is never passed on again. No forgery: a `GWMAIL` line is
believed only from a service nick the network shows at the address of the network's
`radio_key` (trust.py); from anyone else it is ordinary text.
"""

from __future__ import annotations

from dataclasses import dataclass

VERB = "GWMAIL"
#: Kinds of mail (what the reader sees: a message or an action).
KINDS = frozenset({"PRIVMSG", "ACTION"})
#: The longest line a server relays, CR LF excluded.
LINE = 510


@dataclass(frozen=True, slots=True)
class Passed:
    """One message passed on: for `call`, from `source` (`nick!user@host`)."""

    call: str
    source: str
    #: The sender's account on the network, "" if none.
    account: str
    kind: str
    text: str

    def payload(self) -> str:
        account = self.account or "*"
        return f"\x01{VERB} {self.call} {self.source} {account} {self.kind} {self.text}\x01"

    @property
    def nick(self) -> str:
        return self.source.partition("!")[0]


def room(via: str, to: str, passed: Passed) -> int:
    """Characters of text left over (negative: too long) when `via` (our full source)
    sends `passed` to `to`: the receiving server relays at most LINE."""
    head = f":{via} PRIVMSG {to} :"
    return LINE - len(head.encode()) - len(passed.payload().encode())


def parse(text: str) -> Passed | None:
    """The `GWMAIL` line in `text`, or None if it is none (or malformed)."""
    if not (text.startswith(f"\x01{VERB} ") and text.endswith("\x01")):
        return None
    fields = text[len(VERB) + 2 : -1].split(" ", 4)
    if len(fields) != 5:
        return None
    call, source, account, kind, body = fields
    if kind not in KINDS or "!" not in source or not body.strip():
        return None
    return Passed(call, source, "" if account == "*" else account, kind, body)
