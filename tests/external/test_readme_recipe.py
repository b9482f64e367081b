"""README's network recipe, extracted from README.md and loaded by the real programs: the
InspIRCd block (comments, cap, a connect class matched by the WEBIRC gateway name) and
the ngircd lines (PAM = no). Placeholders become loopback: nothing past 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bench import irc_peers as peers
from gateway.config import ExternalIrc
from gateway.irc.external import ExternalConnector, ExternalLink
from gateway.irc.link import Identity
from tests.external.test_external import started
from tests.gateway.support import free_port

pytestmark = pytest.mark.slow
__all__ = ["started"]  # the fixture, shared

README = Path(__file__).resolve().parents[2] / "README.md"
#: More clients from one address than a stock class allows (Debian's localmax="3").
CLIENTS = 5


def snippet(after: str) -> str:
    """The first fenced block after the paragraph that starts with `after`."""
    text = README.read_text(encoding="utf-8")
    found = re.search(re.escape(after) + r".*?\n```[a-z]*\n(.*?)\n```", text, re.DOTALL)
    assert found is not None, f"README has no block after {after!r}"
    return found.group(1)


def loopback(block: str, unused_port: int) -> str:
    """The documentation's example addresses and secrets made loopback and test ones."""
    block = block.replace('"..."', f'"{peers.WEBIRC_PASSWORD}"').replace(
        "= ...", f"= {peers.WEBIRC_PASSWORD}"
    )
    block = block.replace("192.0.2.10", "127.0.0.1").replace("198.51.100.2", "127.0.0.1")
    block = block.replace('address="0.0.0.0"', 'address="127.0.0.1"')
    return block.replace('port="7000"', f'port="{unused_port}"')


async def clients(port: int, gateway: str) -> list[ExternalLink]:
    """CLIENTS registered WEBIRC clients with one user name (one address: the posters')."""
    settings = ExternalIrc("127.0.0.1", port=port, webirc_password=peers.WEBIRC_PASSWORD,
                           webirc_gateway=gateway)  # fmt: skip
    connector = ExternalConnector(settings)
    out = []
    for i in range(CLIENTS):
        ident = Identity(nicks=(f"WX{i}",), user="bulletin", host="bulletin.gateway",
                         realname="test", caps=frozenset({"server-time"}))  # fmt: skip
        out.append(await connector.connect(ident))
    return out


async def test_the_inspircd_block_loads_as_pasted(
    tmp_path: Path, started: list[peers.IrcPeer]
) -> None:
    block = snippet("On InspIRCd (3.x)")
    assert "<!--" not in block  # InspIRCd's comments start with #
    peer = peers.inspircd(tmp_path / "ircd")
    d = peer.directory
    ngw = block.split('webirc="', 1)[1].split('"', 1)[0]
    (d / "inspircd.conf").write_text(
        f"""<server name="irc.inspircd.test" description="test" network="TestNet" id="9AA">
<admin name="test" nick="test" email="test@localhost">
<bind address="127.0.0.1" port="{peer.port}" type="clients">
<files motd="{d / "motd"}">
<dns server="127.0.0.1" timeout="1">
<pid file="{d / "inspircd.pid"}">
<performance nouserdns="yes">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="{d / "log"}">
{loopback(block, free_port())}
# Debian's stock class, after the recipe as the README says.
<connect name="main" allow="*" localmax="3" globalmax="3" resolvehostnames="no"
 useident="no">
""",
        encoding="utf-8",
    )
    started.append(peer)
    await peer.start()
    links = await clients(peer.port, ngw)  # the 4th would be refused by the stock class
    assert all(link.caps == {"server-time"} for link in links)  # cap is loaded
    for link in links:
        link.quit()
    await asyncio.gather(*(link.wait_closed() for link in links))
    log = (d / "log").read_text(encoding="utf-8", errors="replace")
    assert "(class gateway)" in log and "(class main)" not in log


async def test_the_ngircd_lines_load_and_let_radio_users_in(
    tmp_path: Path, started: list[peers.IrcPeer]
) -> None:
    block = snippet("On ngircd (ngircd takes")
    peer = peers.ngircd(tmp_path / "ngircd")
    conf = peer.directory / "ngircd.conf"
    # The tests' [Global] (loopback port, no DNS nor ident), then the recipe as written.
    base = conf.read_text(encoding="utf-8").split("[Limits]", 1)[0]
    conf.write_text(
        base + "[Options]\nDNS = no\nIdent = no\n" + loopback(block, 0) + "\n", encoding="utf-8"
    )
    started.append(peer)
    await peer.start()
    links = await clients(peer.port, "n0gw")
    assert len({link.nick for link in links}) == CLIENTS
    for link in links:
        link.quit()
    await asyncio.gather(*(link.wait_closed() for link in links))
