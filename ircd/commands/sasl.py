"""SASL authentication (IRCv3 sasl 3.2): AUTHENTICATE with PLAIN and EXTERNAL.

The server checks nothing itself: PLAIN asks the embedder's `Accounts.check_password`,
EXTERNAL asks `Accounts.account_for_certfp` with the TLS client certificate's SHA-256.
Operators whose snomask holds `u` hear of each login and each failure (the account
asked for, the mechanism, the credential's name, the client's address; never a password).
The exchange state lives on the client (`Client.sasl`), so it is bounded by the number
of connections and vanishes with them (unlike ProvisionIRCd's global SaslRequest table,
audit finding 4.4); the registration timeout ends exchanges that never finish.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from typing import TYPE_CHECKING, Final

from ircd import numerics as n
from ircd.caps import sasl_mechanisms, sasl_offered
from ircd.exchanges import SaslState
from ircd.hooks import Login
from ircd.nickclaim import recover_wanted
from ircd.notify import set_account
from ircd.protocol import Message
from ircd.replies import ReplyBuffer
from ircd.snomask import address, snotice
from ircd.sources import source_of

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from ircd.client import Client
    from ircd.context import Context
    from ircd.runner import Pending

log = logging.getLogger("ircd.sasl")

#: Bytes of one AUTHENTICATE chunk; a shorter chunk (or "+") ends the message.
CHUNK: Final = 400
#: Most bytes of base64 accepted for one message.
MAX_MESSAGE: Final = 4096
#: Failed attempts after which the connection is closed.
MAX_FAILURES: Final = 3
#: What a failure notice shows of the account asked for: a short name, never all digits.
_ACCOUNTISH: Final = re.compile(r"[A-Za-z0-9_/-]{1,16}\Z")


def authenticate(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """AUTHENTICATE <mechanism>|<base64>|+|*

    Logs in to an account with SASL during registration (after CAP REQ :sasl).
    """
    arg = msg.params[0]
    if "sasl" not in client.caps or not sasl_offered(server):
        rb.numeric(n.ERR_SASLFAIL, "SASL authentication failed")
        return None
    if client.account is not None:
        rb.numeric(n.ERR_SASLALREADY, "You have already authenticated using SASL")
        return None
    if arg == "*":
        client.sasl = None
        rb.numeric(n.ERR_SASLABORTED, "SASL authentication aborted")
        return None
    state = client.sasl
    if state is None:
        mechanism = arg.upper()
        mechanisms = sasl_mechanisms(server, client)
        if mechanism not in mechanisms:
            rb.numeric(n.RPL_SASLMECHS, ",".join(mechanisms), "are available SASL mechanisms")
            _fail(server, client, rb, f"mechanism {mechanism[:20]!r} not offered")
            return None
        client.sasl = SaslState(mechanism)
        rb.add(Message(source=server.name, command="AUTHENTICATE", params=("+",)))
        return None
    if len(arg) > CHUNK:
        client.sasl = None
        rb.numeric(n.ERR_SASLTOOLONG, "SASL message too long")
        return None
    if arg != "+":
        state.buffer += arg
    if len(state.buffer) > MAX_MESSAGE:
        client.sasl = None
        rb.numeric(n.ERR_SASLTOOLONG, "SASL message too long")
        return None
    if len(arg) == CHUNK:
        return None  # more to come
    client.sasl = None
    try:
        data = base64.b64decode(state.buffer, validate=True)
    except (binascii.Error, ValueError):
        _fail(server, client, rb, "not base64", state.mechanism)
        return None
    if state.mechanism == "EXTERNAL":
        asked = data.decode(errors="replace")
        return _finish(server, client, _external(server, client, asked), "EXTERNAL", asked)
    parts = data.split(b"\0")
    if len(parts) != 3:
        _fail(server, client, rb, "malformed PLAIN message", "PLAIN")
        return None
    try:
        authzid, authcid, password = (p.decode() for p in parts)
    except UnicodeDecodeError:
        _fail(server, client, rb, "not UTF-8", "PLAIN")
        return None
    if authzid and authzid != authcid:
        _fail(server, client, rb, f"asked to act as {authzid[:64]!r}", "PLAIN", authcid)
        return None
    assert server.accounts is not None
    browser = client.web_origin is not None
    check = server.accounts.check_password(authcid, password, client.ip, browser=browser)
    checked = server.sasl_checks.bounded(check, source_of(client.ip))  # sources in turn
    return _finish(server, client, checked, "PLAIN", authcid)


async def _external(server: Context, client: Client, asked: str) -> str | Login | None:
    assert server.accounts is not None and client.certfp is not None
    found = await server.accounts.account_for_certfp(client.certfp)
    account = found.account if isinstance(found, Login) else found
    if account is not None and asked and asked.casefold() != account.casefold():
        return None  # asked for another identity than the certificate's (case aside)
    return found


async def _finish(
    server: Context,
    client: Client,
    check: Awaitable[str | Login | None],
    mechanism: str,
    asked: str,
) -> None:
    found = await check
    if client.closed:
        return
    rb = server.replies(client)
    login = Login(found) if isinstance(found, str) else found
    if login is None:
        why = "refused" if mechanism == "PLAIN" else "no account for the certificate"
        _fail(server, client, rb, why, mechanism, asked)
    else:
        account = login.account
        client.credential = login.credential or None
        set_account(server, client, account)
        recover_wanted(server, client)  # the owner's nick, refused while a squatter held it
        log.info("%s (%s) logged in as %s", client.name, client.ip, account)
        how = f" ({login.credential})" if login.credential else ""
        snotice(server, "u", f"{address(client)} logged in as {account} with {mechanism}{how}")
        prefix = f"{client.name}!{client.user or '*'}@{client.host}"
        rb.numeric(n.RPL_LOGGEDIN, prefix, account, f"You are now logged in as {account}")
        rb.numeric(n.RPL_SASLSUCCESS, "SASL authentication successful")
    rb.flush()
    if client.sasl_failures >= MAX_FAILURES and not client.closed:
        server.disconnect(client, "Too many failed SASL attempts")


def _fail(
    server: Context, client: Client, rb: ReplyBuffer, why: str, mechanism: str = "", asked: str = ""
) -> None:
    """Refuse an attempt; operators hear why (never the password)."""
    client.sasl_failures += 1
    # The notice below is logged at INFO, once a window per source (`ircd.snomask`).
    log.debug("SASL failure %d for %s (%s)", client.sasl_failures, client.name, client.ip)
    # A code or password typed in the name field (fields swapped) must not reach a
    # notice or the log: only what can be an account name (a callsign) is shown.
    named = _ACCOUNTISH.match(asked) and not asked.isdigit()
    as_ = (f" as {asked!r}" if named else " as (not an account name)") if asked else ""
    mech = f"{mechanism} " if mechanism else ""
    text = f"Failed SASL {mech}login{as_} by {address(client)}: {why}"
    snotice(server, "u", text, kind="failed", source=client.ip)
    rb.numeric(n.ERR_SASLFAIL, "SASL authentication failed")
    if client.sasl_failures >= MAX_FAILURES:
        rb.flush()
        server.disconnect(client, "Too many failed SASL attempts")
