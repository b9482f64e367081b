"""draft/metadata-3: the specification's examples, one test each (or a few together).

Spec: the IRCv3 metadata draft as revised in ircv3-specifications PR #613 ("Update
metadata spec", capability `draft/metadata-3`; read at skizzerz/ircv3-specifications
b9edf651). Each quoted example is the spec's text; where the server is allowed a choice
(a batch or 774, the target echoed as `*` or the nick) the test says which it makes.
"""

from __future__ import annotations

from ircd.metadata import MAX_KEYS, MAX_SUBS, MAX_VALUE, SYNC_NOW
from ircd.protocol import Message
from tests.ircd.conftest import CoreClient, Harness

V3 = "draft/metadata-3"
CAPS = (V3, "batch")


def lines(client: CoreClient) -> list[tuple[str, tuple[str, ...]]]:
    return [(m.command, m.params) for m in client.take()]


def batch_of(messages: list[Message]) -> tuple[tuple[str, ...], list[tuple[str, tuple[str, ...]]]]:
    """(the opening BATCH's type and parameters, the messages inside) of the one batch."""
    [opening] = [m for m in messages if m.command == "BATCH" and m.params[0].startswith("+")]
    ref = opening.params[0][1:]
    inside = [(m.command, m.params) for m in messages if m.tags.get("batch") == ref]
    return opening.params[1:], inside


# -- the capability -----------------------------------------------------------------------


def test_cap_value_names_the_limits() -> None:
    """ "S: CAP * LS :draft/metadata-3=max-subs=25 multi-prefix invite-notify" -- the
    tokens are before-connect, max-subs, max-keys, max-key-bytes, max-value-bytes."""
    c = Harness().connect()
    c.send("CAP LS 302")
    offered = " ".join(m.params[-1] for m in c.take()).split()
    [value] = [cap for cap in offered if cap.startswith(V3 + "=")]
    tokens = value.split("=", 1)[1].split(",")
    assert tokens == [
        "before-connect",
        f"max-subs={MAX_SUBS}",
        f"max-keys={MAX_KEYS}",
        "max-key-bytes=64",
        f"max-value-bytes={MAX_VALUE}",
    ]
    assert "draft/metadata-2=maxsub=25,maxkey=10" in offered  # still there for old clients
    c.send("NICK isup", "USER isup 0 * :x", "CAP END")
    tokens = [p for m in c.take() if m.command == "005" for p in m.params]
    assert f"METADATA={MAX_KEYS}" in tokens  # as metadata 3.2's ISUPPORT token had it


def test_never_both_revisions_and_dropping_batch_drops_subscriptions(harness: Harness) -> None:
    """ "Clients MUST NOT request more than one of metadata-notify, draft/metadata-2,
    and draft/metadata-3. Servers MUST NOT accept these requests either." ... "If a
    client removes this capability or the batch capability from themselves, servers
    MUST clear that client's subscription list.\""""
    c = harness.user("modernclient", *CAPS)
    c.send("CAP REQ draft/metadata-2")
    assert lines(c) == [("CAP", ("modernclient", "NAK", "draft/metadata-2"))]
    c.send("METADATA * SUB avatar")
    c.take()
    assert list(c.client.meta_subs) == ["avatar"]
    c.send("CAP REQ -batch")
    assert lines(c) == [("CAP", ("modernclient", "ACK", "-batch"))]
    assert c.client.meta_subs == {}


# -- METADATA command examples ------------------------------------------------------------


def test_setting_metadata_on_self_and_on_a_channel(harness: Harness) -> None:
    """ "C: METADATA * SET url :http://www.example.com
    S: :irc.example.com 761 client * url * :http://www.example.com"
    (this server names the target by nick once registered, as its LIST example does)

    "C: METADATA #example SET url :http://www.example.com
    S: :irc.example.com 761 client #example url * :http://www.example.com\""""
    c = harness.user("client", *CAPS)
    c.send("JOIN #example")
    c.take()
    c.send("METADATA * SET url :http://www.example.com")
    assert lines(c) == [("761", ("client", "client", "url", "*", "http://www.example.com"))]
    c.send("METADATA #example SET url :http://www.example.com")
    assert lines(c) == [("761", ("client", "#example", "url", "*", "http://www.example.com"))]


def test_setting_metadata_refused(harness: Harness) -> None:
    """ "C: METADATA user1 SET url :http://www.example.com
    S: FAIL METADATA KEY_NO_PERMISSION user1 url :You do not have permission ..."
    "C: METADATA $a:user SET url :http://www.example.com
    S: FAIL METADATA INVALID_TARGET $a:user :Invalid target."
    "C: METADATA user1 SET $url$ :http://www.example.com
    S: FAIL METADATA INVALID_KEY $url$ :Invalid key.\""""
    harness.user("user1", *CAPS)
    c = harness.user("client", *CAPS)
    c.send("METADATA user1 SET url :http://www.example.com")
    assert lines(c)[0][1][:4] == ("METADATA", "KEY_NO_PERMISSION", "user1", "url")
    c.send("METADATA $a:user SET url :http://www.example.com")
    assert lines(c)[0][1][:3] == ("METADATA", "INVALID_TARGET", "$a:user")
    c.send("METADATA client SET $url$ :http://www.example.com")
    assert lines(c) == [("FAIL", ("METADATA", "INVALID_KEY", "$url$", "Invalid key"))]
    c.send("METADATA * SET URL :upper case is not a key name")  # "a-z, 0-9, and _./-"
    assert lines(c)[0][1][:3] == ("METADATA", "INVALID_KEY", "URL")


def test_setting_metadata_limits(harness: Harness) -> None:
    """ "C: METADATA * SET url :http://www.example.com
    S: FAIL METADATA LIMIT_REACHED 50 :Metadata limit reached" (the reply table's form:
    `LIMIT_REACHED <Item> <Limit>`, the item being the target); a value past
    max-value-bytes is INVALID_VALUE `<Key>`."""
    c = harness.user("client", *CAPS)
    for i in range(MAX_KEYS):
        c.send(f"METADATA * SET k{i} :v")
    c.take()
    c.send("METADATA * SET url :http://www.example.com")
    assert lines(c) == [
        ("FAIL", ("METADATA", "LIMIT_REACHED", "client", str(MAX_KEYS), "Metadata limit reached"))
    ]
    c.send("METADATA * SET k0 :" + "x" * (MAX_VALUE + 1))
    assert lines(c)[0][1][:3] == ("METADATA", "INVALID_VALUE", "k0")


def test_removing_a_key_is_idempotent(harness: Harness) -> None:
    """ "If the Value parameter is omitted or is an empty string, the key is removed ...
    responds with ... 766 RPL_KEYNOTSET if no value is set." "It is not an error if a
    client attempts to ... remove a nonexistent key.\""""
    c = harness.user("client", *CAPS)
    c.send("METADATA * SET url :x", "METADATA * SET url :", "METADATA * SET url")
    assert lines(c) == [
        ("761", ("client", "client", "url", "*", "x")),
        ("766", ("client", "client", "url", "Key not set")),
        ("766", ("client", "client", "url", "Key not set")),
    ]


def test_invalid_parameters(harness: Harness) -> None:
    """ "C: METADATA / S: FAIL METADATA INVALID_PARAMS * :Not enough parameters
    C: METADATA #chan GET / S: FAIL METADATA INVALID_PARAMS GET :Not enough parameters
    C: METADATA #chan SNEEZE / S: FAIL METADATA INVALID_PARAMS SNEEZE :Unknown subcommand
    C: METADATA #chan :: hi! / S: FAIL METADATA INVALID_PARAMS * :Unknown subcommand\""""
    c = harness.user("client", *CAPS)
    c.send("METADATA", "METADATA #chan GET", "METADATA #chan SNEEZE", "METADATA #chan :: hi!")
    assert [p[:3] for _, p in lines(c)] == [
        ("METADATA", "INVALID_PARAMS", "*"),
        ("METADATA", "INVALID_PARAMS", "GET"),
        ("METADATA", "INVALID_PARAMS", "SNEEZE"),
        ("METADATA", "INVALID_PARAMS", "*"),
    ]


# -- listing and viewing ------------------------------------------------------------------


def test_listing_and_getting_metadata(harness: Harness) -> None:
    """ "C: METADATA user1 LIST
    S: :irc.example.com BATCH +VUN2ot metadata
    S: @batch=VUN2ot :irc.example.com 761 client user1 url * :http://www.example.com
    S: @batch=VUN2ot :irc.example.com 761 client user1 im.xmpp * :user1@xmpp.example.com"

    "C: METADATA user1 GET blargh splot im.xmpp
    S: @batch=gWkCiV :irc.example.com 766 client user1 blargh :No matching key
    S: @batch=gWkCiV :irc.example.com 766 client user1 splot :No matching key
    S: @batch=gWkCiV :irc.example.com 761 client user1 im.xmpp * :user1@xmpp.example.com"
    (the batch names its target: "This parameter contains the target")."""
    user1 = harness.user("user1", *CAPS)
    user1.send("METADATA * SET url :http://www.example.com")
    user1.send("METADATA * SET im.xmpp :user1@xmpp.example.com")
    c = harness.user("client", *CAPS)
    c.send("METADATA user1 LIST")
    assert batch_of(c.take()) == (
        ("metadata", "user1"),
        [
            ("761", ("client", "user1", "url", "*", "http://www.example.com")),
            ("761", ("client", "user1", "im.xmpp", "*", "user1@xmpp.example.com")),
        ],
    )
    c.send("METADATA user1 GET blargh splot $bad im.xmpp")
    assert batch_of(c.take()) == (
        ("metadata", "user1"),
        [
            ("766", ("client", "user1", "blargh", "Key not set")),
            ("766", ("client", "user1", "splot", "Key not set")),
            ("WARN", ("METADATA", "INVALID_KEY", "$bad", "Invalid key")),
            ("761", ("client", "user1", "im.xmpp", "*", "user1@xmpp.example.com")),
        ],
    )
    c.send("METADATA nobody LIST")
    assert [cmd for cmd, _ in lines(c)] == ["FAIL"]  # "instead of a batch"


def test_clear_answers_key_not_set_for_each(harness: Harness) -> None:
    """ "the server responds with a metadata batch containing one 766 RPL_KEYNOTSET
    message per cleared key"; without permission, KEY_NO_PERMISSION with `*`."""
    op = harness.user("op", *CAPS)
    other = harness.user("other", *CAPS)
    op.send("JOIN #c", "METADATA #c SET a :1", "METADATA #c SET b :2")
    other.send("JOIN #c")
    op.take(), other.take()
    other.send("METADATA #c CLEAR")
    assert lines(other)[0][1][:4] == ("METADATA", "KEY_NO_PERMISSION", "#c", "*")
    op.send("METADATA #c CLEAR")
    assert batch_of(op.take())[1] == [
        ("766", ("op", "#c", "a", "Key not set")),
        ("766", ("op", "#c", "b", "Key not set")),
    ]


def test_a_secret_channels_values_stay_inside(harness: Harness) -> None:
    """Visible targets only: a +i or +s channel's values are not for outsiders."""
    op = harness.user("op", *CAPS)
    outsider = harness.user("outsider", *CAPS)
    op.send("JOIN #hidden", "METADATA #hidden SET display-name :Invite Only Chan")
    op.send("MODE #hidden +i")
    outsider.send("METADATA * SUB display-name")
    op.take(), outsider.take()
    for sub in ("GET display-name", "LIST", "SYNC"):
        outsider.send(f"METADATA #hidden {sub}")
        got = outsider.take()
        assert got and all("Invite Only Chan" not in m.params for m in got)


# -- notifications ------------------------------------------------------------------------


def test_notifications_are_numerics_to_subscribers(harness: Harness) -> None:
    """ "S: :irc.example.com 761 client user1 account * :user1" (a user's key was set);
    "S: :irc.example.com 761 client #example wiki-url * :http://wiki.example.com"; a
    removal is 766. metadata-2 clients in the same channel get its METADATA message."""
    user1 = harness.user("user1", *CAPS)
    client = harness.user("client", *CAPS)
    old = harness.user("old", "draft/metadata-2", "batch")
    far = harness.user("far", *CAPS)
    for c in (client, old, far):
        c.send("METADATA * SUB account wiki-url")
    for c in (user1, client, old):
        c.send("JOIN #example")
    for c in (user1, client, old, far):
        c.take()
    user1.send("METADATA * SET account :user1")
    assert lines(client) == [("761", ("client", "user1", "account", "*", "user1"))]
    [note] = old.take()
    assert (note.command, note.source) == ("METADATA", "user1!~user1@192.0.2.1")
    assert note.params == ("user1", "account", "*", "user1")
    user1.send("METADATA #example SET wiki-url :http://wiki.example.com")
    assert lines(client) == [
        ("761", ("client", "#example", "wiki-url", "*", "http://wiki.example.com"))
    ]
    user1.send("METADATA * SET account")
    assert lines(client)[-1] == ("766", ("client", "user1", "account", "Key not set"))
    assert far.take() == []  # shares no channel with user1
    assert [cmd for cmd, _ in lines(user1)] == ["761", "761", "766"]  # never told of its own


def test_monitoring_a_user_is_following_it(harness: Harness) -> None:
    """ "to users that subscriber is currently monitoring"; and after 730 RPL_MONONLINE
    "the server MUST additionally send either a metadata batch ... or 774\""""
    watcher = harness.user("watcher", *CAPS)
    watcher.send("METADATA * SUB status", "MONITOR + userD")
    watcher.take()
    d = harness.connect()
    d.send("CAP REQ :draft/metadata-3 batch", "METADATA * SET status :on the air")
    d.send("NICK userD", "USER d 0 * :D", "CAP END")
    got = watcher.take()
    assert got[0].command == "730"
    assert batch_of(got) == (
        ("metadata", "userD"),
        [("761", ("watcher", "userD", "status", "*", "on the air"))],
    )
    d.send("METADATA * SET status :QRT")
    assert lines(watcher) == [("761", ("watcher", "userD", "status", "*", "QRT"))]


def test_whois_shows_the_keys(harness: Harness) -> None:
    """760 RPL_WHOISKEYVALUE `<Target> <Key> <Visibility> :<Value>`."""
    foo = harness.user("foo", *CAPS)
    bar = harness.user("bar", *CAPS)
    foo.send("METADATA * SET display-name :Foo The First")
    bar.send("WHOIS foo")
    assert ("760", ("bar", "foo", "display-name", "*", "Foo The First")) in lines(bar)


# -- synchronization ----------------------------------------------------------------------


def test_joining_a_channel_syncs_at_once(harness: Harness) -> None:
    """ "Client joins a channel and syncs metadata immediately":
    "C: JOIN #smallchan ... S: :irc.example.com 366 modernclient #smallchan :End of
    /NAMES list. / S: :irc.example.com BATCH +UwZ67M metadata
    S: @batch=UwZ67M :irc.example.com 761 modernclient user1 foo * :third example value\""""
    user1 = harness.user("user1", *CAPS)
    user1.send("JOIN #smallchan", "METADATA * SET foo :third example value")
    user1.send("METADATA #smallchan SET topic-url :https://example.org")
    c = harness.user("modernclient", *CAPS)
    c.send("METADATA * SUB foo topic-url")
    c.take()
    c.send("JOIN #smallchan")
    got = c.take()
    assert [m.command for m in got][:4] == ["JOIN", "353", "366", "BATCH"]
    assert batch_of(got) == (
        ("metadata", "#smallchan"),
        [
            ("761", ("modernclient", "#smallchan", "topic-url", "*", "https://example.org")),
            ("761", ("modernclient", "user1", "foo", "*", "third example value")),
        ],
    )
    c.send("JOIN #empty")  # a metadata-aware client gets the batch even when empty
    assert batch_of(c.take()) == (("metadata", "#empty"), [])


def test_joining_a_big_channel_syncs_later(harness: Harness) -> None:
    """ "Client joins a channel and but needs to sync metadata later":
    "S: :irc.example.com 774 modernclient #bigchan 4 :Please try SYNC again in 4 seconds."
    "C: METADATA #bigchan SYNC / S: :irc.example.com BATCH +O5J6rk metadata
    S: @batch=O5J6rk :irc.example.com 761 modernclient user52 foo * :example value 1\""""
    users = [harness.user(f"user{i}") for i in range(SYNC_NOW + 1)]
    for u in users:
        u.send("JOIN #bigchan")
    users[52].send("METADATA * SET foo :example value 1")
    c = harness.user("modernclient", *CAPS)
    c.send("METADATA * SUB foo")
    c.take()
    c.send("JOIN #bigchan")
    assert lines(c)[-1] == ("774", ("modernclient", "#bigchan", "0", "Use METADATA SYNC"))
    c.send("METADATA #bigchan SYNC")
    assert batch_of(c.take()) == (
        ("metadata", "#bigchan"),
        [("761", ("modernclient", "user52", "foo", "*", "example value 1"))],
    )


def test_sync_all(harness: Harness) -> None:
    """ "C: METADATA *ALL SYNC / S: BATCH +r2Nla metadata *ALL
    S: @batch=r2Nla :irc.example.com 761 modernclient #chan1 display-name * :channel 1
    S: @batch=r2Nla :irc.example.com 761 modernclient userA display-name * :A User\""""
    a = harness.user("userA", *CAPS)
    a.send("JOIN #chan1", "METADATA #chan1 SET display-name :channel 1")
    a.send("METADATA * SET display-name :A User")
    c = harness.user("modernclient", *CAPS)
    c.send("JOIN #chan1", "METADATA * SUB display-name")
    c.take()
    c.send("METADATA *ALL SYNC")
    assert batch_of(c.take()) == (
        ("metadata", "*ALL"),
        [
            ("761", ("modernclient", "#chan1", "display-name", "*", "channel 1")),
            ("761", ("modernclient", "userA", "display-name", "*", "A User")),
        ],
    )


# -- subscriptions ------------------------------------------------------------------------


def test_basic_subscribing_and_unsubscribing(harness: Harness) -> None:
    """ "C: METADATA * SUB avatar website foo bar
    S: :irc.example.com 770 modernclient avatar website foo bar
    S: :irc.example.com BATCH +vla9D metadata *ALL ...
    C: METADATA * UNSUB foo bar / S: :irc.example.com 771 modernclient bar foo"
    (this server answers a new subscription with 774 when there is nothing to send)."""
    friend = harness.user("friend", *CAPS)
    c = harness.user("modernclient", *CAPS)
    friend.send("JOIN #c", "METADATA * SET website :https://friend.example")
    c.send("JOIN #c")
    friend.take(), c.take()
    c.send("METADATA * SUB avatar website foo bar")
    got = c.take()
    assert (got[0].command, got[0].params) == (
        "770",
        ("modernclient", "avatar", "website", "foo", "bar"),
    )
    assert batch_of(got) == (
        ("metadata", "*ALL"),
        [("761", ("modernclient", "friend", "website", "*", "https://friend.example"))],
    )
    c.send("METADATA * SUB avatar")  # nothing new: no batch, no 774
    assert lines(c) == [("770", ("modernclient", "avatar"))]
    c.send("METADATA * SUB status")  # new, but nothing set: 774
    assert lines(c) == [
        ("770", ("modernclient", "status")),
        ("774", ("modernclient", "*ALL", "0", "Use METADATA SYNC")),
    ]
    c.send("METADATA * UNSUB foo bar")
    assert lines(c) == [("771", ("modernclient", "foo", "bar"))]
    c.send("METADATA * SUBS")
    assert batch_of(c.take()) == (
        ("metadata-subs",),
        [("772", ("modernclient", "avatar", "website", "status"))],
    )


def test_invalid_key_in_a_subscription(harness: Harness) -> None:
    """ "C: METADATA * SUB foo $url bar / S: :irc.example.com 770 modernclient foo bar
    S: WARN METADATA INVALID_KEY $url :Invalid key\""""
    c = harness.user("modernclient", *CAPS)
    c.send("METADATA * SUB foo $url bar")
    got = lines(c)
    assert ("WARN", ("METADATA", "INVALID_KEY", "$url", "Invalid key")) in got
    assert ("770", ("modernclient", "foo", "bar")) in got


def test_subscribed_to_too_many_keys(harness: Harness) -> None:
    """ "Subscribed to too many keys error in reply to subscription 2": "the server
    accepts the first 2 keys (email, city) but not the rest (country, bar, baz)."
    "C: METADATA * SUB email city country bar baz
    S: FAIL METADATA LIMIT_REACHED country 5 :Too many subscriptions!
    S: :irc.example.com 770 modernclient email city\""""
    c = harness.user("modernclient", *CAPS)
    for i in range(MAX_SUBS - 2):
        c.send(f"METADATA * SUB k{i}")
    c.take()
    c.send("METADATA * SUB email city country bar baz")
    got = lines(c)
    assert got[0] == (
        "FAIL",
        ("METADATA", "LIMIT_REACHED", "country", str(MAX_SUBS), "Too many subscriptions"),
    )
    assert got[1] == ("770", ("modernclient", "email", "city"))
    c.send("METADATA someoneelse SUBS")  # only oneself: "*" or one's nick
    assert lines(c)[0][1][:3] == ("METADATA", "INVALID_TARGET", "someoneelse")


# -- before-connect -----------------------------------------------------------------------


def test_setting_keys_and_subscribing_before_connect(harness: Harness) -> None:
    """The spec's transcript:
    "C: CAP REQ :batch message-tags draft/metadata-3
    C: METADATA * SUB display-name / S: :metadata.test 770 * display-name
    C: METADATA * SET display-name :a b c / S: :metadata.test 761 * * display-name * :a b c
    C: NICK abc / C: USER u s e r / C: CAP END
    S: :metadata.test 001 abc :Welcome to the MetadataTesting IRC Network abc ...
    S: :metadata.test BATCH +1 metadata abc
    S: @batch=1 :metadata.test 761 abc abc display-name * :a b c
    S: :metadata.test BATCH -1 ... S: :metadata.test 376 abc :End of MOTD command
    C: METADATA * LIST / S: @batch=2 :metadata.test 761 abc abc display-name * :a b c
    C: METADATA * SUBS / S: @batch=3 :metadata.test 772 abc display-name\""""
    c = harness.connect()
    c.send("CAP LS 302", "CAP REQ :batch message-tags draft/metadata-3")
    c.take()
    c.send("METADATA * SUB display-name")
    assert lines(c) == [("770", ("*", "display-name"))]  # no batch, no 774 before 001
    c.send("METADATA * SET display-name :a b c")
    assert lines(c) == [("761", ("*", "*", "display-name", "*", "a b c"))]
    c.send("METADATA #chan GET x")  # before registration, only "*"
    assert lines(c)[0][1][:3] == ("METADATA", "INVALID_TARGET", "#chan")
    c.send("NICK abc", "USER u s e r", "CAP END")
    burst = c.take()
    commands = [m.command for m in burst]
    assert commands.index("BATCH") < commands.index("376")
    assert batch_of(burst) == (
        ("metadata", "abc"),
        [("761", ("abc", "abc", "display-name", "*", "a b c"))],
    )
    c.send("METADATA * LIST")
    assert batch_of(c.take())[1] == [("761", ("abc", "abc", "display-name", "*", "a b c"))]
    c.send("METADATA * SUBS")
    assert batch_of(c.take()) == (("metadata-subs",), [("772", ("abc", "display-name"))])


def test_before_connect_needs_metadata_3(harness: Harness) -> None:
    """Only a client that negotiated draft/metadata-3 may send METADATA unregistered."""
    c = harness.connect()
    c.send("CAP LS 302", "CAP REQ :batch draft/metadata-2")
    c.take()
    c.send("METADATA * SET display-name :x")
    assert [cmd for cmd, _ in lines(c)] == ["451"]
