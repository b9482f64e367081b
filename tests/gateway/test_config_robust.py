"""Hostile and mistaken config files (the audit of 2026-12-07): each gets one short line
per problem with file:line and key, never a traceback, a secret, or a huge value."""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.gateway_process import GatewayProcess, free_port, run_cli
from gateway.config import ConfigError, load_config
from tests.gateway.support import Client
from tests.tlscerts import self_signed


def laughs(anchor: str = "a", levels: int = 9) -> str:
    """A "billion laughs" list: 9 ** levels items once YAML's aliases are expanded."""
    names = [f"{anchor}{i}" for i in range(levels)]
    parts = [f"&{names[0]} [" + ",".join(['"lol"'] * 9) + "]"]
    parts += [f"&{n} [" + ",".join([f"*{p}"] * 9) + "]" for p, n in itertools.pairwise(names)]
    return "[" + ", ".join(parts) + "]"


def check(tmp_path: Path, text: str) -> tuple[int, str, str]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    done = run_cli(path, "check-config")
    return done.returncode, done.stdout, done.stderr


def test_a_billion_laughs_in_a_mask_is_named_not_printed(tmp_path: Path) -> None:
    """H1: the problem names the value ("a list of 9 items") instead of printing 9**9 items."""
    text = (
        f"irc:\n  allow:\n    - mask: {{ip: {laughs()}}}\n"
        f"  opers:\n    - {{name: x, password_hash: x, mask: {{ip: {laughs('b')}}}}}\n"
    )
    code, out, err = check(tmp_path, text)
    assert code == 1 and out == ""
    assert len(err) < 4000, len(err)
    assert f"{tmp_path / 'config.yaml'}:3: irc.allow[0].mask.ip: expected strings, got a list " \
           "of 9 items" in err  # fmt: skip
    assert ":5: irc.opers[0].mask.ip: expected strings, got a list of 9 items" in err


def test_problems_past_a_hundred_are_counted_not_printed(tmp_path: Path) -> None:
    # 5,000 bad channels made 5,000 lines; a 1 MiB file could make 330,000 (22 MB of
    # stderr, one log record of it on a reload): review of the session's change, M2.
    channels = ", ".join(str(i) for i in range(5000))  # numbers, not channel names
    code, _, err = check(tmp_path, f"bridge: {{autojoin: [{channels}]}}\n")
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 101 and lines[-1] == "... and 4900 more problems"


def test_a_long_value_is_cut_in_a_problem(tmp_path: Path) -> None:
    """A megabyte-long string or a number of 5000 digits: a short line, not the value
    (nor a traceback: Python refuses to convert more than 4300 digits)."""
    long = "x" * 500_000
    code, _, err = check(
        tmp_path,
        f"log_level: {long}\ntelnet:\n  listen:\n    - {{port: {'1' * 5000}}}\n"
        f"irc:\n  allow:\n    - mask: {{ip: ['{'2' * 5000}', {'3' * 5000}, '{long}']}}\n",
    )
    lines = err.splitlines()
    assert code == 1 and len(err) < 2000, err[:2000]
    assert any(line.endswith(f'got "{"x" * 60}"... (500000 characters)') for line in lines), lines
    assert any(".port: expected an integer 1-65535, got 1111" in line for line in lines), lines
    assert any("irc.allow[0].mask: not a plain value: a number too long" in line for line in lines)


def test_deep_nesting_and_control_characters_are_one_line_with_its_line(tmp_path: Path) -> None:
    """H2: 500 nested lists were a RecursionError traceback; a NUL was two lines without
    a line number."""
    path = tmp_path / "config.yaml"
    deep = "nested more than 64 levels deep"
    for text, line, problem in (
        ("log_level: info\na: " + "[" * 500 + "]" * 500 + "\n", 2, deep),
        ("a:\n" + "".join(" " * i + "- \n" for i in range(0, 200, 2)), 64, deep),
        ("log_level: info\n# x\ncallsign: N0\0GW\n", 3, "invalid YAML: U+0000 is not allowed"),
        ("log_level: \x01\n", 1, "invalid YAML: U+0001 is not allowed"),
    ):
        path.write_text(text, encoding="utf-8")
        done = run_cli(path, "check-config")
        assert (done.returncode, done.stdout) == (1, ""), done.stderr
        assert done.stderr == f"{path}:{line}: {problem}\n"


async def test_a_reload_of_a_deeply_nested_file_logs_one_problem(
    tmp_path: Path, spawn_gateway: Callable[[Path], GatewayProcess]
) -> None:
    """H2 on SIGHUP: the log got some 3,000 traceback lines; now the usual refusal."""
    config, port = tmp_path / "config.yaml", free_port()
    good = (
        f"data_dir: {tmp_path / 'd'}\nirc: {{listen: [{{host: 127.0.0.1, port: {free_port()}}}]}}\n"
        f"telnet: {{listen: [{{host: 127.0.0.1, port: {port}, bpq: false}}]}}\n"
    )
    config.write_text(good)
    gw = spawn_gateway(config)
    await gw.start()
    assert gw.proc is not None
    # A prompt after "gateway running" was logged: its SIGHUP handler is in place (it is
    # set right after that line, before the event loop runs again).
    probe = await Client.connect(port)
    await probe.expect("Callsign: ")
    probe.close()
    config.write_text(good + "x: " + "[" * 500 + "]" * 500 + "\n")
    start = len(gw.log)
    gw.proc.send_signal(signal.SIGHUP)
    await gw.wait_log("reload failed, keeping the running config", start)
    config.write_text("log_level: warning\n" + good)
    gw.proc.send_signal(signal.SIGHUP)
    await gw.wait_log("log level now warning", start)
    logged = gw.log[start:]
    failed = next(i for i, line in enumerate(logged) if "reload failed" in line)
    assert logged[failed + 1] == f"{config}:4: nested more than 64 levels deep", logged
    # Every other line is a log record of its own (a traceback's lines have no time).
    assert [line for line in logged if not line[:4].isdigit()] == [logged[failed + 1]], logged
    assert await gw.stop() == 0


def test_a_secret_in_a_wrong_shape_is_never_echoed(tmp_path: Path) -> None:
    """H5: a plain password put in password_hash was printed ("got \"notahash-hunter2\"");
    so was a password YAML reads as a boolean. The key and the expectation are named."""
    embedded = (
        "callsign: N0GW\nmqtt: {password: on}\nirc:\n"
        "  opers:\n    - {name: sysop, password_hash: notahash-hunter2}\n"
        "  allow:\n    - {password_hash: [hunter3]}\n    - {password_hash: 27182818284}\n"
    )
    external = (
        "irc:\n  mode: external\n  external:\n    host: irc.example.net\n"
        "    password: yes\n    webirc_password: off\n    radio_key: 17320508075\n"
    )
    for text, expected in (
        (embedded, [
            ":2: mqtt.password: expected a string",
            ":5: irc.opers[0].password_hash: is not an Argon2id hash (it must start with "
            "$argon2id$)",
            ":7: irc.allow[0].password_hash: expected a string",
            ":8: irc.allow[1].password_hash: expected a string",
        ]),
        (external, [
            ":5: irc.external.password: expected a string",
            ":6: irc.external.webirc_password: expected a string",
            ":7: irc.external.radio_key: expected one word of at least 16 characters",
        ]),
    ):  # fmt: skip
        code, _, err = check(tmp_path, text)
        assert code == 1
        assert [line.partition(".yaml")[2] for line in err.splitlines()] == expected, err
        for secret in ("hunter", "27182", "17320"):
            assert secret not in err


def test_a_choice_written_as_a_yaml_boolean_is_taken_as_written(tmp_path: Path) -> None:
    """M1: YAML 1.1 reads a plain `off` as false; `messages: off` was "expected a string,
    got off". A boolean that is not one of the choices is still refused, by its text."""
    path = tmp_path / "config.yaml"
    path.write_text("mqtt: {name: hilltop, messages: off}\n")
    config = load_config(path)
    assert config.mqtt is not None and config.mqtt.messages == "off"
    path.write_text('mqtt: {name: hilltop, messages: "off"}\nlog_level: off\nbridge:\n'
                    "  third_party: no\n")  # fmt: skip
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [
        f'{path}:2: log_level: expected one of debug, info, warning, error, got "off"',
        f'{path}:4: bridge.third_party: expected one of all, identified, radio, got "no"',
    ]


def test_check_config_refuses_what_run_would_refuse(tmp_path: Path) -> None:
    """M2: check-config said OK, and `run` then failed with a line naming no key."""
    a, b = self_signed(tmp_path, "a"), self_signed(tmp_path, "b")
    text = tmp_path / "text.pem"
    text.write_text("root:x:0:0:root:/root:/bin/sh\n")
    (tmp_path / "afile").write_text("")
    cases = {
        # A wildcard and a specific address of its family on one port, in each section
        # and across them (0.0.0.0 and :: do not clash: asyncio binds :: IPv6-only).
        "telnet:\n  listen:\n    - {host: 0.0.0.0, port: 9001}\n"
        "    - {host: 127.0.0.1, port: 9001, name: b}\n    - {host: '::', port: 9001, name: c}\n":
            [":4: telnet.listen[1].port: 127.0.0.1:9001 and telnet.listen[0] (0.0.0.0:9001) "
             "cannot both listen (0.0.0.0 or :: takes the port on every address)"],
        "irc:\n  listen:\n    - {host: '::1', port: 9002}\n    - {host: '::', port: 9002}\n"
        "    - {host: 0.0.0.0, port: 9002}\n":
            [":4: irc.listen[1]: :::9002 and irc.listen[0] (::1:9002) cannot both listen (0.0.0.0 "
             "or :: takes the port on every address)"],
        "irc: {listen: [{host: '::1', port: 9003}]}\n"
        "telnet: {listen: [{host: '::', port: 9003}]}\n":
            [":2: telnet: listener :::9003: port 9003 is the IRC server's (irc.listen ::1:9003)"],
        # A host name beside a wildcard on one port: whatever its addresses, the wildcard
        # holds them (the review of the session's change, M1).
        "irc: {listen: [{host: 0.0.0.0, port: 9016}]}\n"
        "telnet: {listen: [{host: localhost, port: 9016}]}\n":
            [":2: telnet: listener localhost:9016: port 9016 is the IRC server's (irc.listen "
             "0.0.0.0:9016)"],
        # Listen addresses that are neither an IP address nor a host name.
        "telnet: {listen: [{host: '::g', port: 9004}, {host: '[::1]', port: 9005}]}\n": [
            ':1: telnet.listen[0].host: expected an IP address or a host name, got "::g"',
            ':1: telnet.listen[1].host: expected an IP address without brackets, got "[::1]"'],
        "irc: {listen: [{host: '[::1]', port: 9006}]}\n": [
            ':1: irc.listen[0].host: expected an IP address without brackets, got "[::1]"'],
        # TLS files the server could not load: not PEM, swapped, not a pair.
        f"irc:\n  listen:\n    - {{host: 127.0.0.1, port: 9007,\n"
        f"       tls: {{cert: {text}, key: {a.key}}}}}\n":
            [f":4: irc.listen[0].tls.cert: expected a PEM certificate: {text}"],
        f"irc:\n  listen:\n    - port: 9008\n      host: 127.0.0.1\n      tls:\n"
        f"        cert: {a.key}\n        key: {a.cert}\n":
            [f":6: irc.listen[0].tls.cert: expected a PEM certificate: {a.key}"],
        f"irc:\n  listen:\n    - port: 9009\n      host: 127.0.0.1\n      tls:\n"
        f"        cert: {a.cert}\n        key: {b.key}\n":
            [f":7: irc.listen[0].tls.key: is not the key of tls.cert ({a.cert}): {b.key}"],
        f"irc:\n  listen:\n    - port: 9010\n      host: 127.0.0.1\n      tls:\n"
        f"        cert: {a.cert}\n        key: {text}\n":
            [f":7: irc.listen[0].tls.key: expected a PEM private key without a passphrase: {text}"],
        f"irc:\n  listen:\n    - port: 9011\n      host: 127.0.0.1\n      tls:\n"
        f"        cert: {a.cert}\n        key: {a.key}\n        client_ca: {a.key}\n":
            [f":8: irc.listen[0].tls.client_ca: expected PEM certificates: {a.key}"],
        f"irc:\n  listen:\n    - port: 9012\n      host: 127.0.0.1\n      tls:\n"
        f"        cert: {tmp_path}\n        key: {a.key}\n":
            [f":6: irc.listen[0].tls.cert: is a directory, not a file: {tmp_path}"],
        # A data_dir that is a file.
        f"data_dir: {tmp_path / 'afile'}\n":
            [f":1: data_dir: is not a directory: {tmp_path / 'afile'}"],
    }  # fmt: skip
    for text_, expected in cases.items():
        code, _, err = check(tmp_path, text_)
        assert code == 1, text_
        assert [line.partition(".yaml")[2] for line in err.splitlines()] == expected, err
    # What binds: 0.0.0.0 and :: on one port, a host name, a good certificate pair.
    code, out, err = check(
        tmp_path,
        "telnet:\n  listen:\n    - {host: 0.0.0.0, port: 9013}\n"
        "    - {host: '::', port: 9013, name: v6}\n    - {host: localhost, port: 9014}\n"
        f"irc: {{listen: [{{host: 127.0.0.1, port: 9015, tls: {{cert: {a.cert}, key: {a.key},"
        f" client_ca: {b.cert}}}}}]}}\ndata_dir: {tmp_path / 'data'}\n",
    )
    assert code == 0 and "OK" in out, err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A YAML merge key: it was "keys must be strings, got a value tagged ...merge".
        ("auth: &b {failure_pause: 3}\nbridge:\n  <<: *b\n  width: 70\n",
         [":3: bridge: merge keys (<<) are not supported: write the keys out"]),
        # `listen:` with every item commented out was no listener without a word (an empty
        # irc.listen is an error); `- ~` was a default 127.0.0.1:8023 BPQ listener.
        ("telnet:\n  listen:\n  #  - {port: 8023}\n",
         [":2: telnet.listen: expected a list of listeners (listen: [] for none), got nothing"]),
        ("telnet:\n", [":1: telnet.listen: expected a list of listeners (listen: [] for none), "
                       "got nothing"]),
        ("telnet:\n  listen:\n    - ~\n    - [1]\n    - {port: 9020}\n",
         [":3: telnet.listen[0]: expected a mapping, got ~",
          ":4: telnet.listen[1]: expected a mapping, got a list"]),
        # One bad item is one problem (it was two: the value, then "#" or "").
        ("bridge:\n  autojoin: [1, hamradio]\n",
         [":2: bridge.autojoin[0]: expected a string, got 1"]),
        ("callsign: NO\n", [":1: callsign: expected a string, got NO"]),
        ("irc:\n  mode: external\n  external:\n    host: irc.example.net\n"
         "    radio_key: a-club-secret-for-tests\n    service_nicks: [[x], Gateway]\n",
         [":6: irc.external.service_nicks[0]: expected a string, got a list"]),
        # A cross-key problem at the key's line (it was the `irc:` line).
        ("irc:\n  mode: external\n  external:\n    host: irc.example.net\n"
         "    radio_key: a-club-secret-for-tests\n    service_nicks: [W2GWmail]\n",
         [":6: irc.external.service_nicks: list bridge.service_nick (Gateway) too: the same "
          "list on every gateway"]),
    ],
)  # fmt: skip
def test_low_findings_each_one_clear_problem(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    code, _, err = check(tmp_path, text)
    assert code == 1
    assert [line.partition(".yaml")[2] for line in err.splitlines()] == expected, err


def test_a_fifo_as_config_is_refused_without_waiting(tmp_path: Path) -> None:
    """LOW: `--config` naming a FIFO hung, waiting for a writer."""
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    done = run_cli(fifo, "check-config")
    assert (done.returncode, done.stderr) == (1, f"{fifo}: cannot read: not a regular file\n")
    # A terminal waited for input as well (review of the session's change, L7): no
    # device is read. run_cli has no terminal, so another character device stands in.
    done = run_cli(Path("/dev/zero"), "check-config")
    assert (done.returncode, done.stderr) == (1, "/dev/zero: cannot read: not a regular file\n")


def test_a_nul_in_a_setting_is_a_problem(tmp_path: Path) -> None:
    # "\0" in double quotes: a data_dir with one passed, and `run` ended in a ValueError
    # traceback (review of the session's change, L5).
    code, _, err = check(tmp_path, 'data_dir: "/tmp/a\\0b"\nkey_file: "k\\0"\n')
    assert code == 1
    assert [line.partition(".yaml")[2] for line in err.splitlines()] == [
        ':1: data_dir: has a NUL character, got "/tmp/a\\u0000b"',
        ':2: key_file: has a NUL character, got "k\\u0000"',
    ]
