"""Allow blocks (who may connect, connection passwords), oper masks and their config."""

from __future__ import annotations

import textwrap
from pathlib import Path

import argon2
import pytest

from ircd.config import AllowConfig, ConfigError, Limits, OperConfig, load_irc_config
from ircd.masks import parse_mask_item
from tests.ircd.conftest import OrderedSink

CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SECRET_HASH = CHEAP.hash("letmein")


def test_no_allow_blocks_lets_everyone_in(harness) -> None:
    harness.user("alice")


def test_first_matching_allow_block_decides(make_harness) -> None:
    h = make_harness(
        allow=(
            AllowConfig(mask=parse_mask_item({"ip": "192.0.2.0/24"})),
            AllowConfig(mask=parse_mask_item("*.never.example")),
        )
    )
    h.connect("192.0.2.9").register("alice")
    sink, client = h.connect_raw("198.51.100.1")
    h.server.receive(client, b"NICK bob\r\nUSER bob 0 * :Bob\r\n")
    assert b" 463 bob :You are not authorized" in sink.data
    assert sink.closed
    assert h.server.find_nick("bob") is None


def test_allow_mask_can_use_registration_data(make_harness) -> None:
    h = make_harness(allow=(AllowConfig(mask=parse_mask_item({"realname": "*ham*"})),))
    c = h.connect()
    c.send("NICK k1abc", "USER k1abc 0 * :a ham operator")
    assert "001" in c.commands()
    c = h.connect()
    c.send("NICK other", "USER other 0 * :someone")
    assert "463" in c.commands()


def test_connection_password_checked_with_argon2(make_harness) -> None:
    h = make_harness(allow=(AllowConfig(password_hash=SECRET_HASH),), sync=True)
    good = h.connect()
    good.send("PASS letmein", "NICK alice", "USER alice 0 * :A", "PING later")
    assert good.sink.paused  # the check runs off the loop; later lines wait
    h.settle()
    assert not good.sink.paused
    assert good.commands()[:1] == ["001"]
    assert good.client.password is None  # not kept after the check
    bad = h.connect()
    bad.send("PASS wrong", "NICK bob", "USER bob 0 * :B")
    h.settle()
    assert bad.sink.closed
    replies = bad.take()
    assert [m.command for m in replies] == ["464", "ERROR"]
    none = h.connect()
    none.send("NICK carol", "USER carol 0 * :C")
    h.settle()
    assert none.sink.closed
    assert none.commands() == ["464", "ERROR"]


def test_quit_while_connection_password_is_checked(make_harness) -> None:
    h = make_harness(allow=(AllowConfig(password_hash=SECRET_HASH),), sync=True)
    c = h.connect()
    c.send("PASS letmein", "NICK alice", "USER alice 0 * :A")
    h.server.disconnect(c.client, "gone")
    h.settle()
    assert h.server.registered_count == 0


def test_oper_mask_restricts_the_block(make_harness) -> None:
    h = make_harness(
        opers=(OperConfig("local", CHEAP.hash("pw"), mask=parse_mask_item({"ip": "127.0.0.0/8"})),),
        sync=True,
    )
    far = h.connect("192.0.2.1").register("far")
    far.send("OPER local pw")
    h.settle()
    assert not far.sink.paused
    assert far.commands() == ["464"]  # same answer as a wrong password
    near = h.connect("127.0.0.1").register("near")
    near.send("OPER local pw")
    h.settle()
    assert not near.sink.paused
    assert near.commands() == ["381", "MODE"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "irc.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_config_allow_opers_and_security_groups(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""\
        security_groups:
          - name: hams
            mask: {{realname: "*ham*"}}
        allow:
          - mask: {{security-group: hams, exclude_ip: 10.0.0.0/8}}
          - mask: ["127.*", "!127.0.0.2"]
            password_hash: "{SECRET_HASH}"
        opers:
          - name: root
            password_hash: "{SECRET_HASH}"
            mask: {{certfp: "{"ab" * 32}", tls: yes}}
        """,
    )
    config = load_irc_config(path)
    assert [a.password_hash is not None for a in config.allow] == [False, True]
    assert config.security_groups[0][0] == "hams"
    assert config.opers[0].mask is not None
    assert "letmein" not in repr(config)


def test_config_mask_problems_have_lines_and_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        allow:
          - mask:
              ip: 10.0.0.0/99
              country: [NL]
          - mask: {security-group: nobody}
          - password: plain
        security_groups:
          - name: tls-users
            mask: "*"
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_irc_config(path)
    got = info.value.problems
    assert any(p.startswith(f"{path}:3: irc.allow[0].mask.ip: expected an IP glob") for p in got)
    assert (
        f"{path}:4: irc.allow[0].mask.country: not supported: this server has no GeoIP data" in got
    )
    assert f'{path}:5: irc.allow[1].mask: unknown security group "nobody"' in got
    assert any(p.startswith(f"{path}:6: irc.allow[2].password: plaintext passwords") for p in got)
    assert (
        f'{path}:8: irc.security_groups[0].name: security group "tls-users" exists already' in got
    )


async def test_live_connection_password_and_oper_mask(start_live_server, live_client) -> None:
    server = start_live_server(
        f"""\
        allow:
          - mask: {{ip: 127.0.0.0/8}}
            password_hash: "{SECRET_HASH}"
        opers:
          - name: root
            password_hash: "{SECRET_HASH}"
            mask: {{ip: "!127.*"}}
        """
    )
    good = await live_client(server.port)
    await good.send("PASS :letmein")
    await good.register("alice")
    await good.send("OPER root letmein")  # the password is right, the mask is not
    assert (await good.expect("464", "381")).command == "464"
    bad = await live_client(server.port)
    await bad.send("PASS :nope", "NICK bob", "USER bob 0 * :Bob")
    assert (await bad.expect("464", "001")).command == "464"
    assert (await bad.until_closed())[-1].command == "ERROR"
    await good.close()


def _checks_before_the_owner(make_harness, sources: int) -> tuple[int, int]:
    """Hostile review, finding 8: `sources` addresses send wrong connection passwords,
    then again from two connections each, all waiting for Argon2id; then the owner sends
    the right one. Returns (attackers' checks answered before the owner's welcome,
    attackers' checks answered in the second round)."""
    h = make_harness(allow=(AllowConfig(password_hash=SECRET_HASH),), sync=True)
    events: list[tuple[str, str]] = []

    def connect(name: str, ip: str, password: str) -> None:
        client = h.server.connect(OrderedSink(name, events, ("464", "001")), ip=ip)
        assert client is not None
        nick = f"n{len(h.server.clients)}"
        line = f"PASS {password}\r\nNICK {nick}\r\nUSER u 0 * :u\r\n"
        h.server.receive(client, line.encode())

    addresses = [f"10.{i // 250}.{i % 250}.1" for i in range(sources)]
    for ip in addresses:
        connect("attacker", ip, "wrong")
    h.settle()
    assert events.count(("attacker", "464")) == sources
    events.clear()
    for ip in addresses * 2:
        connect("attacker", ip, "wrong")
    connect("owner", "203.0.113.7", "letmein")
    h.settle()  # the checks start in that order: the owner's queues behind every guess
    before = events.index(("owner", "001"))
    return before, events.count(("attacker", "464"))


def test_wrong_passwords_from_many_sources_do_not_keep_the_owner_out(make_harness) -> None:
    for sources in (10, 200):
        before, answered = _checks_before_the_owner(make_harness, sources)
        assert answered == 2 * sources  # every guess was checked: the queue was full
        # Only the checks already running when the owner came; not one per attacker.
        assert before <= Limits().max_password_checks


def test_a_source_out_of_password_budget_is_refused_unchecked(make_harness) -> None:
    h = make_harness(allow=(AllowConfig(password_hash=SECRET_HASH),), sync=True)
    for i in range(4):  # three failures' grace, and the fourth puts the source over
        c = h.connect("198.51.100.4")
        c.send("PASS wrong", f"NICK g{i}", "USER g 0 * :g")
        h.settle()
        assert c.commands() == ["464", "ERROR"]
    checked = h.server.passwords.started
    c = h.connect("198.51.100.4")
    c.send("PASS letmein", "NICK g9", "USER g 0 * :g")  # even the right one waits
    h.settle()
    assert "too many failures: wait" in c.take()[0].params[-1]
    assert h.server.passwords.started == checked  # no Argon2id check ran
    assert h.server.oper_passwords.started == 0
    c = h.connect("192.0.2.55")  # another address is not held up
    c.send("PASS letmein", "NICK owner", "USER o 0 * :o")
    h.settle()
    assert c.commands()[:1] == ["001"]
    h.clock.now += 600  # the penalty runs out
    c = h.connect("198.51.100.4")
    c.send("PASS letmein", "NICK back", "USER b 0 * :b")
    h.settle()
    assert c.commands()[:1] == ["001"]


def test_fresh_addresses_in_few_networks_do_not_keep_the_owner_out(make_harness) -> None:
    # t17.py as it was played: 400 addresses, each a first wrong PASS, in 25 /24s. A
    # failure ranks the rest of its network behind networks without one, so the owner's
    # check starts after about one check per network, not one per address.
    started = []
    for per_network in (4, 40):
        h = make_harness(allow=(AllowConfig(password_hash=SECRET_HASH),), sync=True)
        events: list[tuple[str, str]] = []
        for net in range(10):
            for host in range(1, per_network + 1):
                sink = OrderedSink("a", events, ("464", "001"))
                client = h.server.connect(sink, ip=f"10.9.{net}.{host}")
                assert client is not None
                lines = f"PASS wrong\r\nNICK a{net}x{host}\r\nUSER u 0 * :u\r\n"
                h.server.receive(client, lines.encode())
        checker = h.server.passwords
        owner_sink = OrderedSink("owner", events, ("001",))
        owner_sink.probe = lambda checker=checker: checker.started  # type: ignore[misc]
        owner = h.server.connect(owner_sink, ip="203.0.113.7")
        assert owner is not None
        h.server.receive(owner, b"PASS letmein\r\nNICK owner\r\nUSER o 0 * :o\r\n")
        h.settle()
        assert events.count(("a", "464")) == 10 * per_network  # every guess was checked
        started.append(owner_sink.noted)
    # Checks started when the owner was let in: the same for 40 as for 400 addresses; at
    # most one per slot for each network (its first checks run side by side), and its own.
    slots = Limits().max_password_checks
    assert started[0] == started[1] <= 10 * slots + slots
