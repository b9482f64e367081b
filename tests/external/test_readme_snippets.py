"""README's gateway snippets, extracted from README.md and checked by the real program
(`gateway check-config`), and its bpq32.cfg lines parsed for the shape LinBPQ reads
(/work/shared/reference/bpq-telnet.md) and compared with what `gateway init` prints.
The InspIRCd and ngircd blocks are loaded by their servers in test_readme_recipe.py;
README's Mosquitto (one listener, a username per gateway) in test_readme_network.py."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from gateway.cli.init import Answers, bpq_lines
from gateway.config import load_config
from gateway.config.schema import default_config
from tests.external.test_readme_recipe import README, snippet

#: A secret in place of README's "...": 16 characters or more, as radio_key needs.
SECRET = "a-club-secret-for-tests"


def indented(after: str) -> str:
    """The first indented block after the paragraph that starts with `after`."""
    text = README.read_text(encoding="utf-8")
    found = re.search(re.escape(after) + r".*?\n\n((?:    [^\n]*\n|\n)+)", text, re.DOTALL)
    assert found is not None, f"README has no indented block after {after!r}"
    return "\n".join(line[4:] for line in found.group(1).rstrip("\n").split("\n"))


def check_config(directory: Path, text: str) -> subprocess.CompletedProcess[str]:
    """`gateway check-config` on `text`, run in `directory` (the default data_dir)."""
    path = directory / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "gateway", "--config", str(path), "check-config"],
        cwd=directory, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_network_gateway_block_passes_check_config(tmp_path: Path) -> None:
    block = snippet("Each gateway (its own")
    assert block.count('"..."') == 2  # the WEBIRC password and radio_key
    refused = check_config(tmp_path, block)  # the placeholder is too short for a key
    assert refused.returncode == 1 and "irc.external.radio_key: expected" in refused.stderr
    block = block.replace('"..."', f'"{SECRET}"')
    done = check_config(tmp_path, block)
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr
    config = load_config(tmp_path / "config.yaml")
    assert config.irc_external is not None and config.irc_external.radio_key == SECRET
    # The list of servers the paragraph below it shows, in place of the one host.
    hosts = re.search(r"`host` may also be a list of the network's servers, such as\n`(.*?)`",
                      README.read_text(encoding="utf-8"))  # fmt: skip
    assert hosts is not None
    listed = re.sub(r"host: \S+", f"host: {hosts.group(1)}", block, count=1)
    assert listed != block
    done = check_config(tmp_path, listed)
    assert done.returncode == 0, done.stderr
    # The mailbox's inline settings from the chat section (its defaults), under bridge.
    mailbox = re.search(r"\(`(mailbox: \{.*?\})`\)", README.read_text(encoding="utf-8"))
    assert mailbox is not None
    done = check_config(tmp_path, block.replace("bridge:\n", f"bridge:\n  {mailbox.group(1)}\n"))
    assert done.returncode == 0, done.stderr


def test_the_kiss_block_passes_check_config_with_either_port(tmp_path: Path) -> None:
    block = indented("By hand, give the gateway a")
    assert block.startswith("callsign: N0GW-10\nradio:\n")
    done = check_config(tmp_path, block)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in load_config(tmp_path / "config.yaml").radio.ports] == ["vhf"]
    serial = block.replace("# - {name: hf", "- {name: hf")  # the commented-out serial TNC
    assert serial != block
    done = check_config(tmp_path, serial)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in load_config(tmp_path / "config.yaml").radio.ports] == ["vhf", "hf"]


def test_the_error_readme_shows_is_check_configs(tmp_path: Path) -> None:
    shown = indented("Errors name the file, the line and the key")
    where, _, what = shown.partition(": ")
    assert where == "config.yaml:12"
    lines = ["# comment"] * 8 + ["telnet:", "  listen:", "    - name: node1", '      port: "80x"']
    refused = check_config(tmp_path, "\n".join(lines) + "\n")
    assert refused.returncode == 1
    assert f"config.yaml:12: {what}" in refused.stderr, refused.stderr


def test_the_bpq32_lines_have_the_shape_linbpq_reads() -> None:
    port_block = indented("application port:")
    application = indented("give it an application command:")
    lines = [line.split(";")[0].strip() for line in port_block.splitlines()]
    assert lines[0] == "PORT" and lines[-1] == "ENDPORT"
    settings = dict(line.split("=", 1) for line in lines if "=" in line)
    assert settings["DRIVER"] == "TELNET"
    # CMDPORT sits between CONFIG and ENDPORT of that Telnet port.
    inside = lines[lines.index("CONFIG") + 1 : -1]
    cmdports = next(line.split()[1:] for line in inside if line.startswith("CMDPORT "))
    app = re.fullmatch(r"APPLICATION (\d+),(\w+),C (\d+) HOST (\d+)( S)?",
                       application.split(";")[0].strip())  # fmt: skip
    assert app is not None, application
    number, command, portnum, host, back = app.groups()
    assert command == "IRC" and back == " S"  # the user returns to the node
    assert portnum == settings["PORTNUM"]
    # HOST m is CMDPORT[m], the gateway's BPQ listener by default (gateway run, no config).
    assert int(cmdports[int(host)]) == default_config().telnet_listen[0].port
    assert not {"NOCALL", "K"} & set(application.split(";")[0].split())
    # What `gateway init` prints for the same numbers.
    printed = bpq_lines(Answers(Path("/c.yaml"), Path("/d"), bpq_port=int(cmdports[0]),
                                bpq_portnum=int(portnum)))  # fmt: skip
    assert f"\n    CMDPORT {cmdports[0]}\n" in printed
    assert f"\n    APPLICATION {number},IRC,C {portnum} HOST {host} S\n" in printed
