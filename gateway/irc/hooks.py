"""What the gateway gives the embedded IRC server through its extension interface.

- `CallsignNicks` (ServerHooks): a nick that is a callsign (or starts with one, as in
  `N0TEST-5`, `N0TEST_`, `N0TEST1` or `_2E0ABC`) belongs to that callsign's account: only
  a client logged in to it (the radio user's own in-process client, or an IRC user who
  logged in with SASL) may take it. A nick that can pass for a callsign (`NOTEST`,
  `N0TES7`: `gateway/lookalike.py`) belongs to the accounts whose callsign reads alike,
  and the gateway's own nicks are kept with their lookalikes (`Gateway_`, `Gatevvay`).
  Enrolled or not, the answer is the same, so NICK does not tell who is enrolled (issue
  12); the server renames a squatter when the owner logs in (`ircd.nickclaim`).
  Messages to an absent callsign's nick go to the bridge's mailbox. A target typed as a
  callsign that starts with a digit (`WHOIS 2E0ABC`, which cannot be a nick) names its
  nick `_2E0ABC` (`target_alias`), as radio users type and read it. An operator's WHOIS
  of a radio user says how they are on the air and since when (`whois_for_opers`, from
  `radio_whois`).
- `TotpAccounts` (Accounts): SASL PLAIN with the callsign as account and a current TOTP
  code as password, through the same single-use, penalised check as a radio login; its
  penalties are keyed by the client's address (`irc:sasl:ip:ADDR`), as on a direct
  telnet listener, so one guesser does not lock every SASL user out. With the store,
  also an application password (PLAIN) or a bound certificate (EXTERNAL), which
  survive reconnects (`gateway/auth/credentials.py`).
- `StoreBanStore` (BanStore): K/G/Z-lines kept in the gateway's SQLite store.
- `OperAudit` (`Control.audit`): an IRC operator's KILL, K/G/Z-line, REHASH or DIE, a row
  of the audit trail as `irc:<nick> (oper <block>)`, like their RADIO commands.
- `end_stale_logins`: the IRC logins whose credential went, ended.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol

from gateway import lookalike
from gateway.auth import audit, credentials, penalties, penaltystore
from gateway.callsign import parse_callsign
from gateway.config import SourcePenaltyConfig
from gateway.db import Db
from gateway.irc import xlinestore
from gateway.logpace import LogPace
from gateway.store import AsyncStore
from ircd.client import Client
from ircd.hooks import Login, OperAction
from ircd.xlines import XLine

log = logging.getLogger("gateway.irc.hooks")

#: Told to an IRC client whose login ended because what it logged in with went.
LOGGED_OUT = "Your login was revoked or locked; log in again"


class Logins(Protocol):
    """What `end_stale_logins` uses of the server (`ircd.server.Server`)."""

    def logins(self) -> set[tuple[str, str | None]]: ...
    def end_logins(self, account: str, reason: str, credential: str | None = None) -> int: ...


async def end_stale_logins(server: Logins, store: AsyncStore, now: float) -> None:
    """End every IRC login whose credential no longer stands: an application password
    or certificate removed, a callsign revoked, locked or enrolled anew (its TOTP
    label changes). Each socket login is checked against the store every time, not
    against a remembered state that the gateway's own writes would not refresh. A
    client with another valid credential logs in again as it reconnects."""
    logins = server.logins()
    if not logins:
        return
    state = await store.call(credentials.login_state, now)
    for account, label in logins:
        stale = label is not None and label not in state.get(account, frozenset())
        if stale and server.end_logins(account, LOGGED_OUT, credential=label):
            log.warning("IRC logins of %s ended: %s no longer valid", account, label)


#: The node of SASL attempts: each address is a source (and node) below it.
SASL_NODE = "irc:sasl"


class CallsignNicks:
    """Server hooks; `enrolled` (refreshed by the application when the store changes) is
    for the bridge's mailbox, never for nicks."""

    def __init__(self) -> None:
        self.enrolled: frozenset[str] = frozenset()
        #: The bridge's mailbox (`Bridge.message_to_absent`), once it runs.
        self.absent: Callable[[Client, str, str, str], bool] | None = None
        #: Lower-case nicks only the gateway's own in-process clients may take (the
        #: service nick, bulletin posters): their text is trusted for the air.
        self.gateway_nicks: frozenset[str] = frozenset()
        #: An operator's WHOIS lines about a radio user (`RadioWhois`), once the bridge runs.
        self.radio_whois: Callable[[Client], Sequence[str]] | None = None

    def nick_reserved(self, client: Client, nick: str) -> str | None:
        form = lookalike.gateway_form(nick)
        if any(form == lookalike.gateway_form(own) for own in self.gateway_nicks) and not (
            client.in_process
        ):
            return f"{nick} reads as the gateway's own nick"
        if lookalike.may_use(client.account, nick):
            return None
        name, exact = lookalike.imitated(nick)[0]
        if exact:
            return f"{name} is a licensed callsign; log in with SASL as {name} to use it"
        return (
            f"{nick} can pass for a callsign (0/O 1/I/L 5/S 7/T 8/B);"
            " only the account of a callsign that reads alike may use it"
        )

    def message_to_absent(self, client: Client, nick: str, command: str, text: str) -> bool:
        return self.absent is not None and self.absent(client, nick, command, text)

    def target_alias(self, name: str) -> str | None:
        # The server asks only for a name that cannot be a nick, so this hides no one.
        call = parse_callsign(name) if name[:1].isdigit() else None
        return None if call is None else f"_{call}"

    def whois_for_opers(self, user: Client) -> Sequence[str]:
        return () if self.radio_whois is None else self.radio_whois(user)


class CheckCode(Protocol):
    """The radio login's check (`Gateway._check_callsign_code`)."""

    def __call__(
        self, callsign: str, code: str, source: str, *, familiar: bool = True
    ) -> Awaitable[bool]: ...


class TotpAccounts:
    """SASL accounts are enrolled callsigns; the password is a fresh TOTP code, or (with
    `store`) an application password; a bound certificate logs in by EXTERNAL. Each
    answer names the credential (`totp:<enrolled at>`, `apppass:N`, `certfp:FP`), so the
    application can end the logins of one that is revoked."""

    def __init__(
        self,
        check_code: CheckCode,
        store: AsyncStore | None = None,
        source_penalty: Callable[[], SourcePenaltyConfig] = SourcePenaltyConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._check_code = check_code
        self._store = store
        self._source_penalty = source_penalty
        self._clock = clock
        self._failures_log = LogPace()

    async def check_password(
        self, account: str, password: str, address: str, *, browser: bool = False
    ) -> Login | None:
        try:
            return await self._check_password(account, password, address, browser=browser)
        except sqlite3.Error as exc:
            self._store_failed(exc)
            return None

    def _store_failed(self, exc: sqlite3.Error) -> None:
        # Disk full, locked: refused (SASL 904, nothing written), one warning line, paced
        # (each attempt of a client retrying would make one), never a traceback.
        more = self._failures_log.admit()
        if more is not None:
            log.warning("SASL login not checked, the store failed: %s%s", exc, more)

    async def _check_password(
        self, account: str, password: str, address: str, *, browser: bool
    ) -> Login | None:
        # `N0TEST-5` logs in as N0TEST, as on the air: the SSID only tells stations apart.
        parsed = parse_callsign(account)
        if parsed is None:
            return None
        call = parsed.base
        password = password.strip()
        if self._store is not None and credentials.APP_PASSWORD.fullmatch(password):
            number = await self._check_app_password(call, password, address)
            return None if number is None else Login(call, credentials.app_password_label(number))
        # A browser page's attempt is penalised as its address's, but never draws on the
        # budget kept for the owner's own sources (`Authenticator.attempt(familiar=)`).
        source = sasl_source(address)
        if not await self._check_code(call, password, source, familiar=not browser):
            return None
        if self._store is None:
            return Login(call, credentials.TOTP)
        label = await self._store.call(credentials.totp_label_of, call)
        return None if label is None else Login(call, label)  # None: revoked meanwhile

    async def _check_app_password(self, call: str, password: str, address: str) -> int | None:
        # 100 random bits need no guessing budget, and a guess costs no Argon2id check.
        # Failures are still penalised (per address, per /64 for IPv6), apart from TOTP's,
        # so a client retrying a revoked password does not hold up its owner's codes.
        assert self._store is not None
        cfg, now = self._source_penalty(), self._clock()
        key = penalties.node_of(f"{SASL_NODE}:app:ip:{address}")
        if penalties.source_blocked(
            await self._store.call(penaltystore.source_until, key), now, cfg
        ):
            return None
        selector = credentials.selector_of(password)
        candidates = await self._store.call(
            credentials.app_password_candidates, call, selector, now
        )
        number = None
        if candidates:
            number = await asyncio.to_thread(credentials.verify_app_password, candidates, password)
        if number is None:
            await self._store.call(_penalise, key, now, cfg)
            log.info("SASL application password refused for %s from %s", call, address)
            return None
        if not await self._store.call(
            credentials.app_password_used, call, number, selector, self._clock()
        ):
            return None  # revoked, or the callsign locked, while Argon2id ran
        log.info("SASL login of %s with application password #%d", call, number)
        return number

    async def account_for_certfp(self, certfp: str) -> Login | None:
        if self._store is None:
            return None
        try:
            call = await self._store.call(credentials.account_for_certfp, certfp, self._clock())
        except sqlite3.Error as exc:
            self._store_failed(exc)
            return None
        if call is None:
            return None
        log.info("SASL login of %s with certificate %s", call, certfp[:16])
        return Login(call, credentials.certfp_label(certfp.lower()))


def _penalise(store: Db, source: str, now: float, cfg: SourcePenaltyConfig) -> None:
    with store.transaction():
        until = penalties.source_after_failure(penaltystore.source_until(store, source), now, cfg)
        penaltystore.set_source_until(store, source, until, now, cfg.max_entries)


def sasl_source(address: str) -> str:
    """The penalty source of SASL attempts from `address` (IPv6 shares its /64's node)."""
    return f"{SASL_NODE}:ip:{address}"


class StoreBanStore:
    def __init__(self, store: AsyncStore) -> None:
        self._store = store

    async def load(self) -> list[XLine]:
        rows = await self._store.call(xlinestore.xlines)
        return [
            XLine(kind=kind, mask=mask, reason=reason, set_by=by, set_at=at, expires=until)
            for kind, mask, reason, by, at, until in rows
        ]

    async def add(self, line: XLine) -> None:
        await self._store.call(
            xlinestore.put_xline, line.kind, line.mask, line.reason, line.set_by, line.set_at,
            line.expires,
        )  # fmt: skip

    async def remove(self, kind: str, mask: str) -> None:
        await self._store.call(xlinestore.delete_xline, kind, mask)


class OperAudit:
    """`Control.audit`: the row is written off the loop, by a task `spawn` owns (hooks
    must not block)."""

    def __init__(
        self,
        store: AsyncStore,
        clock: Callable[[], float],
        spawn: Callable[[Coroutine[Any, Any, None]], object],
    ) -> None:
        self._store = store
        self._clock = clock
        self._spawn = spawn

    def __call__(self, action: OperAction) -> None:
        who = f"irc:{action.nick} (oper {action.oper})"
        entry = audit.Entry(self._clock(), who, action.address, action.action, action.result)
        self._spawn(self._store.call(audit.record, entry))
