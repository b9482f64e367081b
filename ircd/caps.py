"""Capabilities: what CAP LS offers, SASL's mechanisms, CAP NEW/DEL when that changes.

Shared by the CAP and AUTHENTICATE handlers and the server's reload; it sits below the
handlers (it imports none of them), so the server can use it without a circle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ircd import exchanges
from ircd.isupport import (
    METADATA_MAX_KEY,
    METADATA_MAX_KEYS,
    METADATA_MAX_SUBS,
    METADATA_MAX_VALUE,
)
from ircd.protocol import MAX_BODY, Message
from ircd.replies import ReplyBuffer

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context

#: draft/metadata-3, draft/metadata-2 (for the clients that still ask for it; never both)
#: and their limits (ircd.metadata and the METADATA handler enforce them).
METADATA_3: Final = "draft/metadata-3"
METADATA: Final = "draft/metadata-2"
METADATA_3_VALUE: Final = (
    f"before-connect,max-subs={METADATA_MAX_SUBS},max-keys={METADATA_MAX_KEYS},"
    f"max-key-bytes={METADATA_MAX_KEY},max-value-bytes={METADATA_MAX_VALUE}"
)
METADATA_VALUE: Final = f"maxsub={METADATA_MAX_SUBS},maxkey={METADATA_MAX_KEYS}"
#: draft/multiline and its limits (the BATCH handler enforces them).
MULTILINE: Final = "draft/multiline"
MULTILINE_MAX_BYTES: Final = exchanges.MAX_BYTES
MULTILINE_MAX_LINES: Final = exchanges.MAX_LINES
MULTILINE_VALUE: Final = f"max-bytes={MULTILINE_MAX_BYTES},max-lines={MULTILINE_MAX_LINES}"

#: Capabilities offered in CAP LS; `offered_caps` adds sasl when accounts exist.
SUPPORTED_CAPS: Final = frozenset(
    {
        "account-notify",
        "account-tag",
        "away-notify",
        "batch",
        "cap-notify",
        "chghost",
        "draft/channel-rename",
        "draft/chathistory",
        "draft/message-redaction",
        "draft/read-marker",
        "echo-message",
        "extended-join",
        "extended-monitor",
        "invite-notify",
        "labeled-response",
        "message-tags",
        "multi-prefix",
        "server-time",
        "setname",
        "standard-replies",
        "userhost-in-names",
    }
)


def sasl_offered(server: Context) -> bool:
    """SASL needs accounts from the embedder, and `irc.sasl` not switched off."""
    return server.accounts is not None and server.config.sasl


def sasl_mechanisms(server: Context, client: Client | None = None) -> tuple[str, ...]:
    """PLAIN, and EXTERNAL where a certificate can match: for `client`, when it sent one
    (the listener verified it); for the server, when a listener asks for them."""
    if client is not None:
        # Never from a browser page: another site's script may be using the certificate.
        external = client.certfp is not None and client.web_origin is None
    else:
        external = any(lst.tls is not None and lst.tls.client_ca for lst in server.config.listen)
    return ("PLAIN", "EXTERNAL") if external else ("PLAIN",)


def offered_caps(server: Context, client: Client | None = None) -> dict[str, str]:
    """Capability -> value (shown to CAP LS 302 clients) for this server (or `client`)."""
    caps = dict.fromkeys(SUPPORTED_CAPS, "")
    caps[MULTILINE] = MULTILINE_VALUE
    caps[METADATA] = METADATA_VALUE
    caps[METADATA_3] = METADATA_3_VALUE
    if sasl_offered(server):
        caps["sasl"] = ",".join(sasl_mechanisms(server, client))
    return caps


def announce_caps(server: Context, before: dict[str, str]) -> None:
    """Tell cap-notify clients what changed since `before` was offered (IRCv3 cap-notify).

    A capability no longer offered goes in CAP DEL and is disabled for everyone who had
    it (an unfinished SASL exchange is dropped); a new one goes in CAP NEW, and so does
    one whose value changed, for clients that see values (CAP LS 302).
    """
    after = offered_caps(server)
    gone = sorted(set(before) - set(after))
    new = sorted(set(after) - set(before))
    changed = sorted(k for k in after if k in before and after[k] != before[k])
    if not (gone or new or changed):
        return
    for client in list(server.clients.values()):
        if client.closed:
            continue
        if gone and client.caps & set(gone):
            client.caps.difference_update(gone)
            client.update_tag_mode()
        if "sasl" in gone:
            client.sasl = None
        if "cap-notify" not in client.caps:
            continue
        rb = ReplyBuffer(server, client)
        if gone:
            cap_list(server, client, rb, "DEL", gone)
        values = client.cap_version >= 302
        names = [f"{k}={after[k]}" if values and after[k] else k for k in new]
        names += [f"{k}={after[k]}" for k in changed if values]
        if names:
            cap_list(server, client, rb, "NEW", names)
        rb.flush()


def cap_list(server: Context, client: Client, rb: ReplyBuffer, sub: str, caps: list[str]) -> None:
    """CAP <sub> with `caps`, split over lines as 512 bytes need."""
    # A long list is split; only 302 clients understand the "*" continuation marker.
    budget = MAX_BODY - 2 - len(f":{server.name} CAP {client.name} {sub} * :".encode())
    lines: list[list[str]] = [[]]
    for name in caps:
        if lines[-1] and len(" ".join([*lines[-1], name]).encode()) > budget:
            lines.append([])
        lines[-1].append(name)
    if client.cap_version < 302:
        lines = [[name for line in lines for name in line]]
    for i, line in enumerate(lines):
        more = ("*",) if i < len(lines) - 1 else ()
        rb.add(
            Message(
                source=server.name, command="CAP", params=(client.name, sub, *more, " ".join(line))
            )
        )
