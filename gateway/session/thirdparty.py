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
#: Where radio users' IRC hosts end: `bpq.node1.radio`, `ax25.vhf.radio`.
RADIO_SUFFIX = ".radio"


def refusal(policy: str, *, account: str | None, radio: bool, trusted: bool) -> str | None:
    """Why text from this sender may not go on air, or None if it may.

    `radio`: the sender is a radio user (an in-process client of this gateway, or one
    whose host says so and who carries an account); `trusted`: the gateway's own nicks.
    """
    if policy == "all" or trusted or radio:
        return None
    if policy == "identified":
        return None if account else IDENTIFIED_ONLY
    return RADIO_ONLY


def refusal_for(
    policy: str,
    sender: Message | Client,
    *,
    radio_suffix: str = RADIO_SUFFIX,
    trusted: Callable[[str], bool] = lambda _source: False,
) -> str | None:
    """Why text from `sender` may not go on air under `policy`, or None if it may.

    A message is judged by its account tag and its source's host (any server can
    send both); a client of the embedded server is a radio user only when it is one
    of the gateway's in-process clients. `trusted`: whether a full source
    (`nick!user@host`) is one of the gateway's own clients (messages only)."""
    if isinstance(sender, Client):
        radio = sender.in_process and sender.host.endswith(radio_suffix)
        return refusal(policy, account=sender.account, radio=radio, trusted=False)
    account = sender.tags.get("account")
    source = sender.source or ""
    return refusal(
        policy,
        account=account,
        radio=bool(account) and source.rpartition("@")[2].endswith(radio_suffix),
        trusted=trusted(source),
    )
