"""The third-party rule: whose IRC text may go on air (`bridge.third_party`).

One pure function for every path text takes to the air: live messages, channel
history, the archive, the mailbox, topics and reasons.
"""

from __future__ import annotations

IDENTIFIED_ONLY = "only users logged in to an account (SASL: callsign and code) go on air"
RADIO_ONLY = "only other radio users go on air here"


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
