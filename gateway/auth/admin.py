"""What the sysop does to penalties and locks, shared by the console and IRC operators.

`gateway unlock` / `RADIO UNLOCK`, `RADIO LOCK`, and the penalty report of `gateway
users` / `RADIO PENALTIES` are one implementation here, run on the store's thread. A
lock is a row in the settings table (`lock:<CALLSIGN>` = until), only for enrolled
callsigns, so the number of locks is bounded by the number of users; the
authenticator refuses a locked callsign like any failure (`Outcome.LOCKED`).
"""

from __future__ import annotations

import ipaddress
import math
import time

from gateway import settingstore
from gateway.auth import penalties, penaltystore, users
from gateway.auth.users import UserSummary
from gateway.callsign import parse_base_callsign, parse_callsign
from gateway.config import AuthConfig, Config, SourcePenaltyConfig
from gateway.db import Db

LOCK_PREFIX = "lock:"
#: The longest lock an operator may set (a lock is for a quarrel, revoke is for good).
MAX_LOCK = 365 * 86400.0


class AdminError(ValueError):
    """A target or duration that cannot be acted on; the message says why."""


def locked_until(store: Db, callsign: str) -> float:
    value = settingstore.get_setting(store, LOCK_PREFIX + callsign)
    try:
        return float(value) if value is not None else 0.0
    except ValueError:
        return 0.0


def lock(store: Db, callsign: str, until: float) -> bool:
    """Refuse every login of `callsign` until `until`; False if it is not enrolled."""
    with store.transaction():
        if users.get_user(store, callsign) is None:
            return False
        settingstore.set_setting(store, LOCK_PREFIX + callsign, repr(until))
    return True


def known_nodes(config: Config) -> frozenset[str]:
    """The nodes `unlock` takes, as `gateway users` names them: each telnet listener
    (`telnet:<name>`), each AX.25 port (`ax25:<name>`, also with a path after it),
    SASL (`irc:sasl`) and the gateway-wide buckets."""
    return frozenset(
        [f"telnet:{t.label}" for t in config.telnet_listen]
        + [f"ax25:{p.name}" for p in config.radio.ports]
        # gateway.irc.hooks.SASL_NODE (not imported: the IRC side is above auth/).
        + ["irc:sasl", penalties.GATEWAY_OTHERS, penalties.GATEWAY_FAMILIAR]
    )


def source_problem(source: str, nodes: frozenset[str]) -> str | None:
    """Why `source` is no source a login could come from here (`known_nodes`), or None:
    `telnet:LABEL:call:CALL`, `telnet:LABEL:ip:ADDR`, `ax25:PORT:PATH:call:CALL`,
    `irc:sasl:ip:ADDR`, as `gateway sources list` shows them."""
    head, sep, call = source.rpartition(":call:")
    if sep:
        if parse_callsign(call) is None:
            return f"not a callsign: {call!r}"
    else:
        head, sep, address = source.rpartition(":ip:")
        if not sep:
            return "expected <node>:call:<callsign> or <node>:ip:<address>"
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return f"not an IP address: {address!r}"
    node = ":".join(head.split(":", 2)[:2]) if head.startswith("ax25:") else head
    if node not in nodes or node.startswith("*"):  # not a gateway-wide bucket either
        shown = ", ".join(sorted(n for n in nodes if not n.startswith("*")))
        return f"no such node: {node!r} (nodes: {shown})"
    return None


def unlock(store: Db, target: str, nodes: frozenset[str] | None = None) -> int:
    """Clear the lock, penalties and budgets of a callsign, an address or a node.

    A callsign's budget refilled gives a guesser a new burst too: this is the sysop's
    decision, never something a strategy can cause. Returns the records cleared. With
    `nodes` (`known_nodes`), a node that is none of them (nor a path below one) and has
    nothing in the store is refused rather than "unlocked" (one a renamed listener
    left behind can still be cleared).
    """
    target = target.strip()
    node = target
    unknown = False  # a node that is not configured: refused unless the store has it
    net: str | None = None  # an IPv6 address's /64, which its node budget is kept for
    try:
        ip = ipaddress.ip_address(target)
        suffix: str | None = f":ip:{ip}"
        callsign = None
        if ip.version == 6 and ip.ipv4_mapped is None:
            net = f":net:{ipaddress.ip_network((ip, 64), strict=False)}"
    except ValueError:
        # A node as `gateway users` names it (telnet:bpq, ax25:vhf, *gateway).
        if ":" in target or target.startswith("*"):
            suffix, callsign = None, None
            unknown = nodes is not None and not any(
                target == n or target.startswith(n + ":") for n in nodes
            )
        else:
            callsign = parse_base_callsign(target.upper())
            if callsign is None:
                raise AdminError(
                    f"not a callsign (without SSID), an address or a node: {target!r}"
                ) from None
            suffix = f":call:{callsign}"
    with store.transaction():
        cleared = penaltystore.clear_sources(store, suffix) if suffix else 0
        if suffix is None:  # a node (ax25:vhf, irc:sasl) or a source (ax25:vhf:WIDE1-1)
            cleared += penaltystore.clear_below(store, target)
        cleared += penaltystore.clear_nodes(store, node, suffix if callsign is None else None)
        if net is not None:
            cleared += penaltystore.clear_sources(store, net)
            cleared += penaltystore.clear_nodes(store, net, net)
        if callsign is not None:
            cleared += int(penaltystore.clear_callsign(store, callsign))
            cleared += int(settingstore.delete_setting(store, LOCK_PREFIX + callsign))
    if unknown and not cleared:
        # Nothing cleared, nothing changed: a typo, or a listener renamed long ago.
        shown = ", ".join(sorted(nodes or ()))
        raise AdminError(f"no such node: {target!r} (nodes: {shown})")
    return cleared


def prune_locks(store: Db, now: float) -> None:
    with store.transaction():
        rows = settingstore.with_prefix(store, LOCK_PREFIX)
        settingstore.delete_settings(store, [k for k, v in rows if _float(v) < now])


def penalty_lines(store: Db, cfg: AuthConfig, now: float) -> list[str]:
    """Locks, spent callsign budgets, spent node budgets and refused sources, one a line."""
    out: list[str] = []
    for user in users.list_users(store):
        until = locked_until(store, user.callsign)
        if until > now:
            out.append(f"{user.callsign}: locked until {_when(until)}")
        budget = penalties.budget_at(user.budget, now, cfg.callsign)
        familiar = penalties.budget_at(user.familiar_budget, now, cfg.callsign)
        if budget.failures or budget.level > 0 or familiar.failures or familiar.level > 0:
            out.append(f"{user.callsign}: {callsign_budget_text(user, now, cfg.callsign)}")
    for node, b in penaltystore.nodes(store):
        # The gateway-wide buckets are kept among the nodes, with their own parameters.
        bcfg: penalties.BudgetConfig = cfg.gateway if node.startswith("*") else cfg.node
        b = penalties.budget_at(b, now, bcfg)
        if b.level > 0:
            out.append(f"node {node}: {budget_text(b, bcfg)}")
    for source, until, failures in penaltystore.sources(store, now):
        if penalties.source_blocked(until, now, cfg.source):
            out.append(f"source {source}: {source_text(until, failures, now, cfg.source)}")
    return out


def source_text(until: float, failures: int, now: float, cfg: SourcePenaltyConfig) -> str:
    """A refused source as the sysop needs it: when it can try again, not when it is clean."""
    retry = penalties.source_retry_at(until, cfg)
    wait = math.ceil(retry - now)
    at = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(retry))
    plural = "" if failures == 1 else "s"
    return f"{failures} failure{plural}, can try again at {at} (in {wait} s)"


def callsign_budget_text(user: UserSummary, now: float, cfg: penalties.BudgetConfig) -> str:
    """Both lanes of a callsign's budget, as the log's alerts count them: wrong codes
    from a source it has logged in from draw on their own lane."""
    text = budget_text(penalties.budget_at(user.budget, now, cfg), cfg)
    familiar = penalties.budget_at(user.familiar_budget, now, cfg)
    if familiar.failures or familiar.level > 0:
        text += f"; from its own sources: {budget_text(familiar, cfg)}"
    return text


def budget_text(b: penalties.Budget, cfg: penalties.BudgetConfig) -> str:
    if not b.failures and b.level == 0:
        return "full"
    left = max(0, int(cfg.burst - b.level + 1e-9))
    text = f"{left}/{cfg.burst} left, {b.failures} wrong since {_when(b.since)}"
    if not penalties.budget_allows(b, cfg):
        text += f", next check after {_when(penalties.budget_next_check(b, cfg))}"
    return text


def parse_duration(text: str) -> float:
    """`30m`, `12h`, `7d` or seconds, up to MAX_LOCK."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    if not number.isdigit() or not 0 < int(number) * units[unit] <= MAX_LOCK:
        raise AdminError(f"expected a duration such as 30m, 12h or 7d (at most 365d), got {text!r}")
    return float(int(number) * units[unit])


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(ts))


def _float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0
