"""The welcome burst a client gets once registered: 001-005, LUSERS, MOTD.

Below the handlers: admission sends it at the end of registration, and the LUSERS and
MOTD handlers send their parts of it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ircd import metadata
from ircd import numerics as n
from ircd.isupport import CHANNEL_MODES, CHANNEL_MODES_WITH_PARAM, USER_MODES, VERSION
from ircd.notify import monitor_online
from ircd.snomask import snotice

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context
    from ircd.replies import ReplyBuffer


def welcome(server: Context, client: Client, rb: ReplyBuffer) -> None:
    """001 to 005, LUSERS and MOTD to `client`; its watchers and operators are told."""
    cfg = server.config
    rb.numeric(n.RPL_WELCOME, f"Welcome to the {cfg.network} IRC Network {client.prefix}")
    rb.numeric(n.RPL_YOURHOST, f"Your host is {server.name}, running version {VERSION}")
    created = datetime.fromtimestamp(server.created, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    rb.numeric(n.RPL_CREATED, f"This server was created {created}")
    rb.numeric(
        n.RPL_MYINFO, server.name, VERSION, USER_MODES, CHANNEL_MODES, CHANNEL_MODES_WITH_PARAM
    )
    server.send_isupport(rb)
    send_lusers(server, rb)
    metadata.burst(server, client, rb)  # draft/metadata-3: before the end of the MOTD
    send_motd(server, rb)
    monitor_online(server, client)
    snotice(server, "c", connecting(client))


def connecting(client: Client) -> str:
    """The CONNECT notice, as InspIRCd's with what this server knows more (the account):
    `Client connecting on port 6697 (TLS): nick!user@realhost (ip) logged in as N0CALL
    [realname]`."""
    if client.in_process:
        where = "in-process"
    else:
        how = ", ".join(
            word for word, on in (("WebSocket", client.websocket), ("TLS", client.tls)) if on
        )
        port = f"on port {client.port} " if client.port is not None else ""
        where = f"{port}({how or 'plaintext'})"
    ip = "in-process" if client.in_process else client.ip
    who = f"{client.name}!{client.user or '*'}@{client.realhost} ({ip})"
    # The account before the realname, which the user chose (and may word to look like one).
    account = f" logged in as {client.account}" if client.account else ""
    return f"Client connecting {where}: {who}{account} [{client.realname}]"


def send_lusers(server: Context, rb: ReplyBuffer) -> None:
    users = server.registered_count
    visible = users - server.invisible_count
    rb.numeric(
        n.RPL_LUSERCLIENT,
        f"There are {visible} users and {server.invisible_count} invisible on 1 servers",
    )
    if server.oper_count:
        rb.numeric(n.RPL_LUSEROP, str(server.oper_count), "operator(s) online")
    unknown = len(server.clients) - users
    if unknown:
        rb.numeric(n.RPL_LUSERUNKNOWN, str(unknown), "unknown connection(s)")
    if server.channels:
        rb.numeric(n.RPL_LUSERCHANNELS, str(len(server.channels)), "channels formed")
    rb.numeric(n.RPL_LUSERME, f"I have {users} clients and 0 servers")
    most = str(server.max_registered)
    rb.numeric(n.RPL_LOCALUSERS, str(users), most, f"Current local users {users}, max {most}")
    rb.numeric(n.RPL_GLOBALUSERS, str(users), most, f"Current global users {users}, max {most}")


def send_motd(server: Context, rb: ReplyBuffer) -> None:
    text = server.config.motd
    if not text:
        rb.numeric(n.ERR_NOMOTD, "MOTD File is missing")
        return
    rb.numeric(n.RPL_MOTDSTART, f"- {server.name} Message of the day - ")
    for line in text.splitlines():
        rb.numeric(n.RPL_MOTD, f"- {line}"[:400])
    rb.numeric(n.RPL_ENDOFMOTD, "End of /MOTD command.")
