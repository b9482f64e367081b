"""A login code checked against the store, and who hears of the outcome.

Radio logins and SASL with a TOTP code come here (`Gateway._check_code`): the
`Authenticator` decides in one store transaction; IRC operators hear of each attempt
(never the code), and the event bus gets `login` or `login_failed`.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.auth import penalties
from gateway.auth.airlogins import AirLogins
from gateway.auth.service import Authenticator
from gateway.callsign import Callsign
from gateway.config import AuthConfig
from gateway.events.bus import Events
from gateway.irc.opernotices import LoginNotices
from gateway.store import AsyncStore

#: Outcomes where a brake refused the code before any comparison ("penalty").
BRAKES = frozenset(
    {"SOURCE_PENALTY", "NODE_BUDGET", "GATEWAY_BUDGET", "CALLSIGN_DELAY", "LOCKED", "RADIO_BUSY"}
)


async def check_code(
    store: AsyncStore,
    authenticator: Authenticator,
    auth: AuthConfig,
    air_logins: AirLogins,
    notices: LoginNotices | None,
    events: Events,
    clock: Callable[[], float],
    callsign: Callsign,
    code: str,
    source: str,
    *,
    familiar: bool = True,
) -> bool:
    result = await store.call(
        authenticator.attempt, auth, callsign.base, code, source, clock(),
        familiar=familiar, radio_busy=air_logins.busy(callsign.base),
    )  # fmt: skip
    if notices is not None:
        # Logged by the authenticator; IRC operators hear it too (never the code).
        notices.attempt(str(callsign), source, result.outcome.value, result.ok)
        if result.alert:
            notices.alert(result.alert, source)
    transport = source.split(":", 1)[0]
    if result.ok:
        events.emit("login", callsign=callsign.base, transport=transport, source=source)
    else:
        braked = result.outcome.name in BRAKES
        events.emit("login_failed", callsign=callsign.base, transport=transport,
                    source_kind=penalties.node_of(source),
                    reason="penalty" if braked else "refused")  # fmt: skip
    return result.ok
