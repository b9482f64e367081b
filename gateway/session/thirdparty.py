"""The third-party rule: whose IRC text may go on air (`bridge.third_party`).

One rule for every path text takes to the air: live messages, channel history, the
archive, the mailbox, topics and reasons. `refusal_for` judges a sender, seen either
as a message (its account tag and host) or as a client of the embedded server.
"""

from __future__ import annotations

from collections.abc import Callable

from ircd.client import Client
from ircd.protocol import Message

IDENTIFIED_ONLY = "only users logged in to an account (SASL: callsign and code) go on air"
RADIO_ONLY = "only other radio users go on air here"
SQUATTED = "your nick is or looks like a callsign; choose another nick"
#: Where radio users' IRC hosts end: `bpq.radio`, `ax25.radio`, `telnet.radio`.
RADIO_SUFFIX = ".radio"


def refusal_for(
    policy: str,
    sender: Message | Client,
    *,
    radio_suffix: str = RADIO_SUFFIX,
    trusted: Callable[[str], bool] = lambda _source: False,
    squatted: Callable[[str, str], bool] = lambda _source, _account: False,
) -> str | None:
    """Why text from `sender` may not go on air under `policy`, or None if it may.

    Radio users and the gateway's own clients always may. A message is judged by its
    account tag and its source's host (any server can send both): a radio user carries
    an account and a host under `radio_suffix`; `trusted` says whether its full source
    (`nick!user@host`) is one of the gateway's own clients, asked only when it matters.
    A client of the embedded server is a radio user only when it is one of the
    gateway's in-process clients. On a network, whatever the policy, a message from a
    nick that names or imitates a callsign without being its radio user (`squatted`,
    given the source and account) never goes on air as that callsign.
    """
    if isinstance(sender, Client):
        if policy == "all":
            return None
        account = sender.account
        if sender.in_process and sender.host.endswith(radio_suffix):
            return None
    else:
        account = sender.tags.get("account")
        source = sender.source or ""
        if squatted(source, account or ""):
            return SQUATTED
        if policy == "all":
            return None
        radio = bool(account) and source.rpartition("@")[2].endswith(radio_suffix)
        if radio or trusted(source):
            return None
    if policy == "identified":
        return None if account else IDENTIFIED_ONLY
    return RADIO_ONLY
