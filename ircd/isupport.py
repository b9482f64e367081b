"""Fixed protocol limits and the RPL_ISUPPORT (005) tokens derived from the configuration."""

from __future__ import annotations

from typing import Final

from ircd.chanlists import EXTBAN_LETTERS, EXTBAN_PREFIX, LIST_MODES
from ircd.channel import FLAG_MODES, STATUS_MODES, STATUS_PREFIXES
from ircd.config import IrcConfig
from ircd.history import MAX_LIMIT as HISTORY_LIMIT
from ircd.monitor import LIMIT as MONITOR_LIMIT

#: Longest real name (USER, SETNAME).
NAMELEN: Final = 100
VERSION: Final = "packet-ircd-0.1"
#: Username length, the "~" of an unverified ident included.
USERLEN: Final = 16
HOSTLEN: Final = 64
#: Targets per PRIVMSG/NOTICE/TAGMSG/KICK (ISUPPORT TARGMAX).
MAX_TARGETS: Final = 4
#: Parameter-taking mode changes per MODE command (ISUPPORT MODES).
MAX_MODES: Final = 4
#: Longest channel key accepted by +k.
KEYLEN: Final = 32
#: User modes and channel modes for RPL_MYINFO (004).
USER_MODES: Final = "Biosw"
CHANNEL_MODES: Final = "CIMRTbeiklmnostv"
CHANNEL_MODES_WITH_PARAM: Final = "Ibeklov"
#: Metadata limits: keys per user or channel (ISUPPORT METADATA, as metadata 3.2 had it;
#: draft/metadata-3's max-keys), subscriptions, bytes per value and per key name. Kept
#: small (a handful of keys such as avatar, display-name, pronouns, homepage, color):
#: 10 keys are 4.8 KiB a user or channel, 25 subscriptions 3.5 KiB a client.
METADATA_MAX_KEYS: Final = 10
METADATA_MAX_SUBS: Final = 25
METADATA_MAX_VALUE: Final = 300
METADATA_MAX_KEY: Final = 64


def isupport_tokens(config: IrcConfig) -> tuple[str, ...]:
    """Every 005 token, only for features that are implemented."""
    lim = config.limits
    prefixes = "".join(STATUS_PREFIXES[m] for m in STATUS_MODES)
    return (
        f"AWAYLEN={lim.awaylen}",
        "BOT=B",
        f"CASEMAPPING={config.casemapping}",
        f"CHANLIMIT=#:{lim.max_channels_per_client}",
        f"CHATHISTORY={HISTORY_LIMIT}",
        f"CHANMODES={LIST_MODES},k,l,{FLAG_MODES}",
        f"CHANNELLEN={lim.channellen}",
        "CHANTYPES=#",
        "ELIST=CMNTU",
        "EXCEPTS=e",
        f"EXTBAN={EXTBAN_PREFIX},{EXTBAN_LETTERS}",
        f"HOSTLEN={HOSTLEN}",
        "INVEX=I",
        f"KEYLEN={KEYLEN}",
        f"KICKLEN={lim.kicklen}",
        f"MAXLIST={LIST_MODES}:{lim.max_list_entries}",
        f"METADATA={METADATA_MAX_KEYS}",
        f"MODES={MAX_MODES}",
        f"MONITOR={MONITOR_LIMIT}",
        "MSGREFTYPES=msgid,timestamp",
        f"NAMELEN={NAMELEN}",
        f"NETWORK={config.network}",
        f"NICKLEN={lim.nicklen}",
        f"PREFIX=({STATUS_MODES}){prefixes}",
        "SAFELIST",  # LIST goes out as the client reads it (ircd.listing)
        f"STATUSMSG={prefixes}",
        f"TARGMAX=PRIVMSG:{MAX_TARGETS},NOTICE:{MAX_TARGETS},TAGMSG:{MAX_TARGETS},"
        f"KICK:{MAX_TARGETS},JOIN:,PART:,NAMES:,WHOIS:1,ISON:,USERHOST:5",
        f"TOPICLEN={lim.topiclen}",
        f"USERLEN={USERLEN}",
        "UTF8ONLY",
        "WHOX",
    )
