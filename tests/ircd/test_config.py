"""Tests of ircd.config: defaults, a full file, and line-numbered errors collected together."""

from __future__ import annotations

import textwrap
from pathlib import Path

import argon2
import pytest
import yaml

from ircd.config import (
    DEFAULT_CONFIG,
    ConfigError,
    IrcConfig,
    Listener,
    irc_config_from_node,
    load_irc_config,
)
from tests.tlscerts import self_signed

CHEAP_HASH = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("secret")


def write(tmp_path: Path, text: str, name: str = "irc.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_irc_config(path)
    return info.value.problems


def test_defaults_listen_on_loopback() -> None:
    assert DEFAULT_CONFIG.listen == (Listener("127.0.0.1", 6667),)
    assert DEFAULT_CONFIG.casemapping == "rfc1459"
    # The defaults, remembering which file they stand for (REHASH names it).
    assert irc_config_from_node(None, "x.yaml") == DEFAULT_CONFIG
    assert irc_config_from_node(None, "x.yaml").source == "x.yaml"


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load_irc_config(write(tmp_path, "")) == IrcConfig()


def test_full_section_in_gateway_file(tmp_path: Path) -> None:
    made = self_signed(tmp_path)
    made.cert.rename(tmp_path / "c.pem")
    made.key.rename(tmp_path / "k.pem")
    path = write(
        tmp_path,
        f"""\
        telnet:
          listen: [{{host: 127.0.0.1, port: 8023}}]
        irc:
          listen:
            - {{host: 127.0.0.1, port: 6667}}
            - host: "::1"
              port: 6697
              tls: {{cert: c.pem, key: k.pem}}
          server_name: irc.example.net
          network: HamNet
          motd: |
            Welcome
            73
          casemapping: ascii
          limits: {{nicklen: 12, flood_rate: 0.5, ping_interval: 30}}
          opers:
            - name: alice
              password_hash: "{CHEAP_HASH}"
          history_size: 50
        """,
        name="gateway.yaml",
    )
    cfg = load_irc_config(path)
    assert cfg.listen[0] == Listener("127.0.0.1", 6667)
    assert cfg.listen[1].tls is not None
    assert cfg.listen[1].tls.cert == str(tmp_path / "c.pem")
    assert cfg.server_name == "irc.example.net"
    assert cfg.motd == "Welcome\n73\n"
    assert cfg.casemapping == "ascii"
    assert cfg.limits.nicklen == 12
    assert cfg.limits.flood_rate == 0.5
    assert cfg.limits.ping_interval == 30
    assert cfg.opers[0].name == "alice"
    assert cfg.history_size == 50


def test_all_problems_reported_with_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        listen:
          - host: 127.0.0.1
            port: "80x"
          - {host: "bad host!", port: 70000}
          - {port: 1}
        server_name: localhost
        casemapping: rfc7613
        limits:
          nicklen: 0
          sendq: yes
          colour: 3
        histry_size: 5
        """,
    )
    assert problems(path) == [
        f'{path}:3: irc.listen[0].port: expected an integer 1-65535, got "80x"',
        f'{path}:4: irc.listen[1].host: expected an IP address or a host name, got "bad host!"',
        f"{path}:4: irc.listen[1].port: expected an integer 1-65535, got 70000",
        f"{path}:5: irc.listen[2]: missing key 'host'",
        f"{path}:6: irc.server_name: expected a host name with at least one dot, "
        'at most 63 characters, got "localhost"',
        f'{path}:7: irc.casemapping: expected one of rfc1459, ascii, got "rfc7613"',
        f"{path}:9: irc.limits.nicklen: expected an integer 1-64, got 0",
        f"{path}:10: irc.limits.sendq: expected an integer 1024-67108864, got yes",
        f"{path}:11: irc.limits.colour: unknown key",
        f"{path}:12: irc.histry_size: unknown key (did you mean 'history_size'?)",
    ]


def test_plaintext_oper_password_names_the_fix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        opers:
          - name: bob
            password: hunter2
          - name: carol
            password_hash: "$2b$12$notargon"
        """,
    )
    got = problems(path)
    assert got[0].startswith(
        f"{path}:3: irc.opers[0].password: plaintext passwords are not accepted"
    )
    assert "python -m ircd hash-password" in got[0]
    assert got[1].startswith(f"{path}:5: irc.opers[1].password_hash: is not an Argon2id hash")
    # The hash itself must not be echoed in full? It is not secret, but a plaintext one would be.
    assert "hunter2" not in "\n".join(got)


def test_duplicates(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""\
        listen:
          - {{host: 127.0.0.1, port: 6667}}
          - {{host: 127.0.0.1, port: 6667}}
        opers:
          - {{name: a, password_hash: "{CHEAP_HASH}"}}
          - {{name: a, password_hash: "{CHEAP_HASH}"}}
        network: x
        network: y
        """,
    )
    got = problems(path)
    assert f"{path}:3: irc.listen[1]: 127.0.0.1:6667 is listed twice" in got
    assert f'{path}:6: irc.opers[1].name: duplicate oper name "a"' in got
    assert f"{path}:8: irc.network: duplicate key" in got


def test_missing_tls_file(tmp_path: Path) -> None:
    path = write(
        tmp_path, "listen: [{host: 127.0.0.1, port: 6697, tls: {cert: nope.pem, key: nope.key}}]\n"
    )
    got = problems(path)
    assert got[0] == f"{path}:1: irc.listen[0].tls.cert: file not found: {tmp_path / 'nope.pem'}"
    assert len(got) == 2


def test_wrong_shapes(tmp_path: Path) -> None:
    path = write(tmp_path, "listen: 6667\nlimits: [1]\nopers: {a: 1}\n")
    assert problems(path) == [
        f"{path}:1: irc.listen: expected a list, got 6667",
        f"{path}:2: irc.limits: expected a mapping, got a list",
        f"{path}:3: irc.opers: expected a list, got a mapping",
    ]


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "listen: [\n")
    got = problems(path)
    assert got[0].startswith(f"{path}:")
    assert "invalid YAML" in got[0]


def test_unreadable_file(tmp_path: Path) -> None:
    assert problems(tmp_path / "missing.yaml")[0].startswith(
        f"{tmp_path / 'missing.yaml'}: cannot read"
    )


def test_gateway_validates_its_own_node(tmp_path: Path) -> None:
    root = yaml.compose("irc:\n  network: HamNet\n", Loader=yaml.SafeLoader)
    node = root.value[0][1]
    assert irc_config_from_node(node, "gateway.yaml").network == "HamNet"


def test_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        DEFAULT_CONFIG.network = "x"  # type: ignore[misc]


def test_description_is_what_links_says(tmp_path: Path) -> None:
    path = write(tmp_path, 'description: "Club gateway, 2 m and 70 cm"\n')
    assert load_irc_config(path).description == "Club gateway, 2 m and 70 cm"
    bad = write(tmp_path, 'description: "two\\nlines"\n', "bad.yaml")
    assert problems(bad) == [
        f'{bad}:1: irc.description: expected 0-100 printable characters, got "two\\nlines"'
    ]
