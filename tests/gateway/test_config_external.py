"""`irc.mode: external` in the config: what it reads and what it refuses."""

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    return path


def problems(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_external_mode_reads_the_network(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "irc:\n  mode: external\n  network: ClubNet\n"
            "  external: {host: irc.club.example, tls: true, webirc_password: s3cret}\n",
        )
    )
    ext = config.irc_external
    assert ext is not None and ext.host == "irc.club.example"
    assert ext.port == 6697 and ext.tls and ext.tls_verify  # TLS gets its port
    assert ext.webirc_password == "s3cret" and "s3cret" not in repr(ext)
    assert config.irc.network == "ClubNet"
    assert load_config(write(tmp_path, "irc: {mode: embedded}\n")).irc_external is None
    assert load_config(write(tmp_path, "callsign: N0GW-10\n")).irc_external is None


def test_external_mode_refuses_what_it_would_ignore(tmp_path: Path) -> None:
    text = problems(
        write(
            tmp_path,
            "irc:\n  mode: external\n  listen: [{host: 127.0.0.1, port: 6667}]\n"
            "  external: {port: 70000, webirc_password: 'two words', tls: maybe,"
            ' password: "a\\nb"}\n',
        )
    )
    assert "irc.listen is for the embedded server only" in text
    assert "irc.external.host: the IRC network's host name is required" in text
    assert "irc.external.port" in text and "irc.external.tls" in text
    assert "irc.external.webirc_password: expected one word" in text
    assert "irc.external.password: expected one line" in text
    assert "two words" not in text  # a password is never echoed back
    text = problems(write(tmp_path, "irc:\n  mode: remote\n  external: {host: x}\n"))
    assert "irc.mode" in text and "irc.external: only read with irc.mode: external" in text


def test_the_network_key_and_its_gateways(tmp_path: Path) -> None:
    base = "irc:\n  mode: external\n  external:\n    host: irc.club.example\n"
    keyed = base + "    radio_key: a-long-club-secret\n"
    config = load_config(
        write(
            tmp_path,
            keyed + "    service_nicks: [N0GWmail, W2GWmail, n0gwMAIL]\n"
            "bridge: {service_nick: N0GWmail}\n",
        )
    )
    ext = config.irc_external
    assert ext is not None and ext.service_nicks == ("N0GWmail", "W2GWmail")  # once each
    assert ext.radio_key == "a-long-club-secret" and "club-secret" not in repr(ext)
    text = problems(write(tmp_path, base + "    radio_key: short\n"))
    assert "irc.external.radio_key: expected one word of at least 16 characters" in text
    text = problems(write(tmp_path, keyed + "    service_nicks: [W2GWmail]\n"))
    assert "irc.external.service_nicks: list bridge.service_nick (Gateway) too" in text
    text = problems(write(tmp_path, base + "    service_nicks: [N0GWmail, 'no good']\n"))
    assert "irc.external.service_nicks: needs radio_key" in text
    assert 'expected a nick of letters and digits, got "no good"' in text
