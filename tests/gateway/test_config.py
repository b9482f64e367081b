from pathlib import Path

import pytest

from gateway.config import ConfigError, default_config, load_config

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


def test_example_config_is_valid() -> None:
    config = load_config(ROOT / "config.example.yaml")
    assert config.telnet_listen
    assert config.data_dir.is_absolute()


def test_defaults_are_loopback() -> None:
    config = default_config()
    assert [(x.host, x.port, x.bpq) for x in config.telnet_listen] == [("127.0.0.1", 8023, True)]


def test_error_names_file_line_key_and_expectation(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "data_dir: d\ntelnet:\n  listen:\n    - host: 127.0.0.1\n      port: 80x\n",
    )
    assert problems(path) == [
        f'{path}:5: telnet.listen[0].port: expected an integer 1-65535, got "80x"'
    ]


def test_all_problems_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "log_level: loud\nbogus: 1\nauth:\n  failure_pause: -1\n"
        "telnet:\n  listen:\n    - {port: 70000, bpq: maybe, allow: [10.0.0.0/33]}\n",
    )
    found = problems(path)
    assert len(found) == 6, found
    assert any("telnet.listen[0].port: expected an integer 1-65535, got 70000" in p for p in found)
    assert any(":1: log_level: expected one of" in p for p in found)
    assert any(":2: bogus: unknown key" in p for p in found)
    assert any(":4: auth.failure_pause: expected a number" in p for p in found)
    assert any("telnet.listen[0].bpq: expected true or false" in p for p in found)
    assert any("telnet.listen[0].allow[0]: expected an IP address or CIDR" in p for p in found)


def test_duplicate_listener_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "telnet:\n  listen:\n    - {port: 9000}\n    - {port: 9000}\ndata_dir: a\ndata_dir: b\n",
    )
    found = problems(path)
    assert any("telnet.listen[1].port: same host and port" in p for p in found)
    assert any(":6: data_dir: duplicate key" in p for p in found)


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = write(tmp_path, "telnet:\n  listen: [\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:3: invalid YAML")


def test_unsafe_yaml_tags_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "data_dir: !!python/object/apply:os.system ['true']\nlog_level: !!python/name:os.system\n",
    )
    assert problems(path) == [
        f"{path}:1: data_dir: expected a string, got a value tagged"
        " tag:yaml.org,2002:python/object/apply:os.system",
        f"{path}:2: log_level: expected a string, got a value tagged"
        " tag:yaml.org,2002:python/name:os.system",
    ]


def test_missing_and_garbage_files(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path / "nope.yaml")
    assert "cannot read" in problem
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    (problem,) = problems(binary)
    assert "not UTF-8" in problem


def test_relative_paths_follow_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "data_dir: state\nkey_file: keys/k\n"))
    assert config.data_dir == tmp_path / "state"
    assert config.secret_key_path == tmp_path / "keys/k"


def test_listener_defaults_and_safelist(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "telnet:\n  listen:\n"
            "    - {port: 9001, bpq: false, allow: [192.0.2.0/24, '2001:db8::/32']}\n"
            "    - {port: 9002}\n",
        )
    )
    direct, bpq = config.telnet_listen
    assert direct.max_per_ip == 3 and bpq.max_per_ip == 0
    assert direct.login_timeout == 60 and bpq.login_timeout == 180
    assert direct.allows("192.0.2.7") and direct.allows("2001:db8::1")
    assert direct.allows("::ffff:192.0.2.7")
    assert not direct.allows("198.51.100.1") and not direct.allows("garbage")
    assert bpq.allows("203.0.113.9")


def test_radio_ports(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "callsign: n0gw-10\nradio:\n  ports:\n"
            "    - {name: vhf, tcp: '127.0.0.1:8001', k: 7, max_unauthenticated: 2}\n"
            "    - {name: hf, serial: /dev/ttyUSB0, baud: 19200, callsign: N0GW-11,"
            " duty_cycle: 25}\n",
        )
    )
    vhf, hf = config.radio.ports
    assert config.callsign == "N0GW-10" and vhf.tcp == ("127.0.0.1", 8001) and vhf.k == 7
    assert vhf.max_unauthenticated == 2 and hf.max_unauthenticated == 3 < hf.max_links
    assert hf.serial == "/dev/ttyUSB0" and hf.baud == 19200 and hf.duty_cycle == 25
    assert config.radio.transmit


def test_radio_port_problems(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "radio:\n  ports:\n    - {tcp: 'nohost'}\n    - {tcp: 'h:1', serial: /dev/x}\n"
        "    - {name: x, tcp: 'h:2', k: 8}\n",
    )
    found = problems(path)
    assert any("radio.ports[0].tcp: expected HOST:PORT" in p for p in found)
    assert any("radio.ports[1].tcp: give exactly one of tcp" in p for p in found)
    assert any("radio.ports[2].k: expected an integer 1-7" in p for p in found)
    assert any("callsign: required by radio.ports" in p for p in found)


def test_auth_budgets_example_defaults_and_old_names(tmp_path: Path) -> None:
    from gateway.config import AuthConfig

    assert load_config(ROOT / "config.example.yaml").auth == AuthConfig()
    # The T x A delays' names keep their meaning: free_failures was the burst, max the
    # sustained interval; step has none any more and says so.
    old = write(tmp_path, "auth:\n  callsign_delay: {free_failures: 4, max: 3600}\n")
    assert load_config(old).auth.callsign.burst == 4
    assert load_config(old).auth.callsign.leak_every == 3600
    path = write(
        tmp_path,
        "auth:\n  callsign_delay: {step: 60, burst: 3, free_failures: 3}\n"
        "  node_budget: {burst: 0, leak_every: 10}\n",
    )
    found = problems(path)
    assert any("auth.callsign_delay.step: no longer used" in p for p in found), found
    assert any("give auth.callsign_delay.burst only" in p for p in found), found
    assert any("auth.node_budget.burst: expected an integer 1-" in p for p in found), found
    node = load_config(write(tmp_path, "auth:\n  node_budget: {burst: 5}\n")).auth.node
    assert (node.burst, node.leak_every) == (5, 300.0)


def test_bridge_and_mqtt_sections(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "bridge: {third_party: radio, autojoin: [hamradio, '#net'],"
            " archive: {channels: [news]}}\n"
            "mqtt:\n  port: 1884\n  name: hilltop\n  messages: metadata\n"
            "  bulletins: [{topic: wx/#, channel: wx, nick: WX, on_air: true}]\n",
        )
    )
    assert config.bridge.third_party == "radio"
    assert config.bridge.autojoin == ("#hamradio", "#net")
    assert config.bridge.archive_channels == ("#news",)
    assert config.mqtt is not None and config.mqtt.port == 1884
    assert config.mqtt.bulletins[0].channel == "#wx" and config.mqtt.bulletins[0].on_air
    assert default_config().mqtt is None  # no section: no MQTT at all
    bad = write(
        tmp_path,
        "bridge: {third_party: everyone, width: -1, service_nick: 'no spaces'}\n"
        "mqtt: {qos: 3, messages: all, prefix: 'a b',"
        " bulletins: [{nick: 'W X', channel: 'a b'}]}\n",
    )
    found = "\n".join(problems(bad))
    for text in ("third_party: expected one of all, identified, radio", "width:",
                 "service_nick:", "qos:", "messages: expected one of off, metadata, text",
                 "prefix:", "bulletins[0].nick:", "bulletins[0].channel:"):  # fmt: skip
        assert text in found, (text, found)


def test_one_reader_one_wording_for_gateway_and_irc_sections(tmp_path: Path) -> None:
    import ircd.config

    assert ConfigError is ircd.config.ConfigError
    path = write(
        tmp_path,
        "telnet:\n  listen:\n    - {port: 9000, bpq: maybe}\n"
        "irc:\n  sasl: maybe\n  limits: {nicklen: 0}\nauth: {attempts_per_connection: 0}\n",
    )
    assert problems(path) == [
        f'{path}:3: telnet.listen[0].bpq: expected true or false, got "maybe"',
        f'{path}:5: irc.sasl: expected true or false, got "maybe"',
        f"{path}:6: irc.limits.nicklen: expected an integer 1-64, got 0",
        f"{path}:7: auth.attempts_per_connection: expected an integer 1-10, got 0",
    ]
    with pytest.raises(ConfigError) as info:
        ircd.config.load_irc_config(path)
    assert info.value.problems[0] == f'{path}:5: irc.sasl: expected true or false, got "maybe"'


def test_irc_flood_limits_read_through_the_gateway_config(tmp_path: Path) -> None:
    """The embedded server's registering slots and login reserve (issue 19): `irc:` is
    read by ircd, so the gateway's file takes them as the example documents them."""
    example = load_config(ROOT / "config.example.yaml").irc.limits
    assert (example.max_unregistered, example.login_reserve) == (1024, 64)
    assert example.registration_timeout == 20
    given = load_config(
        write(tmp_path, "irc:\n  limits: {max_unregistered: 16, login_reserve: 4}\n")
    ).irc.limits
    assert (given.max_unregistered, given.login_reserve) == (16, 4)
    found = problems(write(tmp_path, "irc:\n  limits: {max_unregistered: 0}\n"))
    assert any("irc.limits.max_unregistered" in p for p in found), found


def test_a_telnet_port_the_irc_server_takes_and_a_mistyped_address(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "irc: {listen: [{host: 0.0.0.0, port: 6667}]}\n"
        "telnet:\n  listen:\n    - {host: 127.0.0.1, port: 6667}\n"
        "    - {host: 999.1.1.1, port: 8024, name: typo}\n"
        "    - {host: node.example, port: 8025, name: named}\n",
    )
    found = problems(path)
    assert any(
        "telnet: listener 127.0.0.1:6667: port 6667 is the IRC server's (irc.listen 0.0.0.0:6667)"
        in p
        for p in found
    ), found
    typo = 'telnet.listen[1].host: expected an IP address or a host name, got "999.1.1.1"'
    assert any(typo in p for p in found), found
    assert len(found) == 2, found


def test_an_open_bpq_listener_is_warned_of(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "telnet:\n  listen:\n    - {host: 0.0.0.0, port: 8023, name: open}\n"
        "    - {host: 0.0.0.0, port: 8024, allow: [192.0.2.1/32]}\n"
        '    - {host: 0.0.0.0, port: 8025, bpq: false}\n    - {host: "::1", port: 8026}\n',
    )
    warned = [w for x in load_config(path).telnet_listen for w in x.warnings()]
    assert warned == [
        "telnet listener open is a BPQ listener (bpq: true, the default) open to every "
        "address: set allow: [the node's address], or bpq: false for people connecting directly"
    ]
