"""HMAC-SHA256 cloaking: stability, layering, range bans, and the key never leaving."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from ircd.cloak import Cloaker
from ircd.config import CloakConfig, ConfigError, load_irc_config

KEY = "k" * 40


def test_cloak_is_stable_across_restarts_pinned_vector() -> None:
    # Pinned: changing the algorithm would silently void every range ban in use.
    assert Cloaker(KEY).cloak("192.0.2.1") == "3MNMUD64UT.5T3XX5VU3J.GK6BUSCUJZ.IP"
    assert Cloaker(KEY).cloak("192.0.2.1") == Cloaker(KEY).cloak("::ffff:192.0.2.1")
    assert Cloaker(KEY).cloak("2001:db8:1:2::5") == "MCBSOCOGXO.CB4R46TIJJ.YQGBXXOKMF.IP"


def test_audit_3_4_cloak_is_keyed_hmac_not_crc32() -> None:
    other = Cloaker("x" * 40).cloak("192.0.2.1")
    assert other != Cloaker(KEY).cloak("192.0.2.1")  # the key changes every segment
    assert all(
        a != b
        for a, b in zip(
            other.split(".")[:3], Cloaker(KEY).cloak("192.0.2.1").split(".")[:3], strict=True
        )
    )
    assert all(len(seg) == 10 for seg in other.split(".")[:3])  # 50 bits per segment
    assert KEY not in repr(Cloaker(KEY))


def test_layers_ipv4() -> None:
    c = Cloaker(KEY)
    a, b, far = c.cloak("192.0.2.1"), c.cloak("192.0.2.200"), c.cloak("192.0.3.1")
    assert a.split(".")[0] != b.split(".")[0]
    assert a.split(".")[1:] == b.split(".")[1:]  # same /24
    assert a.split(".")[1] != far.split(".")[1]
    assert a.split(".")[2:] == far.split(".")[2:]  # same /16


def test_layers_ipv6_by_64_48_32() -> None:
    c = Cloaker(KEY)
    assert c.cloak("2001:db8:1:2::5") == c.cloak("2001:db8:1:2:abcd::9")  # same /64
    a, b = c.cloak("2001:db8:1:2::5"), c.cloak("2001:db8:1:3::5")
    assert a != b and a.split(".")[1:] == b.split(".")[1:]  # same /48
    assert a.split(".")[2:] == c.cloak("2001:db8:2::1").split(".")[2:]  # same /32


def test_host_names_keep_their_domain() -> None:
    c = Cloaker(KEY)
    assert c.cloak("dsl-1.isp.example").endswith(".isp.example")
    assert c.cloak("localhost").endswith(".IP")


def test_short_key_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Cloaker("short")
    path = tmp_path / "irc.yaml"
    path.write_text(textwrap.dedent("cloak:\n  key: tooshortsecret\n"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_irc_config(path)
    assert info.value.problems[0].startswith(f"{path}:2: irc.cloak.key: must have at least 32")
    assert "tooshortsecret" not in str(info.value)
    path.write_text(f"cloak: {{key: {KEY}, suffix: NET}}\n", encoding="utf-8")
    config = load_irc_config(path)
    assert config.cloak == CloakConfig(KEY, "NET")
    assert KEY not in repr(config)


def cloaked(make_harness):
    h = make_harness(cloak=CloakConfig(KEY))
    return h, Cloaker(KEY)


def test_range_bans_on_cloaks(make_harness) -> None:
    h, c = cloaked(make_harness)
    op = h.connect("203.0.113.9").register("op")
    op.send("JOIN #c")
    slash24, slash16 = Cloaker.range_masks(c.cloak("192.0.2.1"))
    op.send(f"MODE #c +b {slash24}")
    same24 = h.connect("192.0.2.77").register("same24")
    same24.send("JOIN #c")
    assert same24.commands() == ["474"]
    other24 = h.connect("192.0.3.5").register("other24")
    other24.send("JOIN #c")
    assert other24.commands()[0] == "JOIN"
    other24.send("PART #c")
    op.send(f"MODE #c -b {slash24}", f"MODE #c +b {slash16}")
    for client in (same24, other24):
        client.take()
        client.send("JOIN #c")
        assert client.commands() == ["474"]


def test_bans_on_the_real_address_still_hold(make_harness) -> None:
    h, _ = cloaked(make_harness)
    op = h.connect("203.0.113.9").register("op")
    op.send("JOIN #c", "MODE #c +b *!*@192.0.2.0/24", "MODE #c +b *!*@198.51.100.*")
    for ip in ("192.0.2.8", "198.51.100.4"):
        u = h.connect(ip).register("u" + ip.replace(".", ""))
        u.send("JOIN #c")
        assert u.commands() == ["474"]


def test_whois_shows_the_cloak_and_only_self_and_opers_see_behind(make_harness) -> None:
    h, c = cloaked(make_harness)
    a = h.connect("192.0.2.1").register("alice")
    b = h.user("bob")
    b.send("WHOIS alice")
    replies = b.take()
    assert replies[0].params[3] == c.cloak("192.0.2.1")
    assert "378" not in [m.command for m in replies]
    a.send("WHOIS alice")
    host = next(m for m in a.take() if m.command == "378")
    assert host.params[-1] == "is connecting from *@192.0.2.1 192.0.2.1"
    h.server.set_oper(b.client, "root")
    b.send("WHOIS alice")
    assert "378" in b.commands()


def test_key_is_never_sent(make_harness) -> None:
    h, _ = cloaked(make_harness)
    a = h.user("alice", "message-tags")
    a.send("VERSION", "WHOIS alice", "JOIN #c", "MODE #c b")
    everything = a.sink.data + b"".join(m.to_bytes() for m in a.take())
    assert KEY.encode() not in everything


async def test_live_cloak_stable_across_restart(start_live_server, live_client) -> None:
    yaml = f"cloak: {{key: {KEY}}}\n"
    hosts = []
    for _ in range(2):
        server = start_live_server(yaml)
        c = await live_client(server.port)
        await c.register("alice")
        await c.send("WHOIS alice")
        hosts.append((await c.expect("311")).params[3])
        await c.close()
        server.kill()
    assert hosts[0] == hosts[1] == Cloaker(KEY).cloak("127.0.0.1")


def test_reload_changes_cloak_for_new_clients_only(make_harness) -> None:
    h, c = cloaked(make_harness)
    old = h.connect("192.0.2.1").register("old")
    h.server.reload(dataclasses.replace(h.server.config, cloak=CloakConfig("z" * 40)))
    new = h.connect("192.0.2.1").register("new")
    assert old.client.host == c.cloak("192.0.2.1")
    assert new.client.host == Cloaker("z" * 40).cloak("192.0.2.1")
