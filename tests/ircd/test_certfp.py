"""TLS client certificates: optional, verified against an explicit trust store, SHA-256 certfp.

Also SASL EXTERNAL over a real TLS connection (audit finding 3.6: no verify callback
that accepts everything).
"""

from __future__ import annotations

import base64
import dataclasses
import ssl
from pathlib import Path

import pytest

from ircd.config import IrcConfig, Limits, Listener, TlsConfig
from ircd.net import IrcServer
from tests.tlscerts import self_signed


class Accounts:
    def __init__(self, certfp: str) -> None:
        self.certfp = certfp

    async def check_password(
        self, account: str, password: str, address: str, *, browser: bool = False
    ) -> str | None:
        return None

    async def account_for_certfp(self, certfp: str) -> str | None:
        return "K1ABC" if certfp == self.certfp else None


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, tuple[Path, Path, str]]:
    return {name: self_signed(tmp_path, name) for name in ("server", "trusted", "stranger")}


def client_context(pki, name: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki["server"][0]))
    context.check_hostname = False
    if name is not None:
        context.load_cert_chain(str(pki[name][0]), str(pki[name][1]))
    return context


async def start(pki, *, client_ca: bool) -> IrcServer:
    server_cert, server_key, _ = pki["server"]
    tls = TlsConfig(
        cert=str(server_cert),
        key=str(server_key),
        client_ca=str(pki["trusted"][0]) if client_ca else None,
    )
    config = dataclasses.replace(
        IrcConfig(),
        listen=(Listener("127.0.0.1", 0, tls),),
        server_name="irc.test",
        limits=Limits(),
    )
    irc = IrcServer(config, accounts=Accounts(pki["trusted"][2]))
    await irc.start()
    return irc


async def test_trusted_certificate_gives_certfp_and_sasl_external(pki, live_client) -> None:
    irc = await start(pki, client_ca=True)
    try:
        [(_, port)] = irc.addresses
        c = await live_client(port, ssl_context=client_context(pki, "trusted"))
        await c.send("CAP LS 302")
        assert "sasl=PLAIN,EXTERNAL" in (await c.expect("CAP")).params[-1].split()
        await c.send("CAP REQ :sasl", "NICK k1abc", "USER k1abc 0 * :r")
        await c.send("AUTHENTICATE EXTERNAL")
        assert (await c.expect("AUTHENTICATE")).params == ("+",)
        await c.send("AUTHENTICATE +")
        assert (await c.expect("900", "904")).params[2] == "K1ABC"
        await c.expect("903")
        await c.send("CAP END")
        await c.expect("001")
        user = irc.server.find_nick("k1abc")
        assert user is not None and user.certfp == pki["trusted"][2] and user.account == "K1ABC"
        await c.close()
    finally:
        await irc.stop(timeout=2)


async def test_no_certificate_is_fine(pki, live_client) -> None:
    irc = await start(pki, client_ca=True)
    try:
        [(_, port)] = irc.addresses
        c = await live_client(port, ssl_context=client_context(pki, None))
        await c.send("CAP LS 302")
        # EXTERNAL is offered only where a certificate can match: this client sent none.
        assert "sasl=PLAIN" in (await c.expect("CAP")).params[-1].split()
        await c.send("CAP END")
        await c.register("anon")
        user = irc.server.find_nick("anon")
        assert user is not None and user.certfp is None
        await c.close()
    finally:
        await irc.stop(timeout=2)


async def test_untrusted_certificate_is_refused_not_accepted(pki, live_client) -> None:
    irc = await start(pki, client_ca=True)
    try:
        [(_, port)] = irc.addresses
        # TLS 1.2 fails the handshake; with TLS 1.3 the client learns on its first read
        # (an alert, or the connection simply closed).
        with pytest.raises((ssl.SSLError, ConnectionError, AssertionError)):
            c = await live_client(port, ssl_context=client_context(pki, "stranger"))
            await c.register("stranger")
        assert irc.server.find_nick("stranger") is None
    finally:
        await irc.stop(timeout=2)


async def test_without_client_ca_no_certificate_is_requested(pki, live_client) -> None:
    irc = await start(pki, client_ca=False)
    try:
        [(_, port)] = irc.addresses
        c = await (await live_client(port, ssl_context=client_context(pki, "trusted"))).register(
            "x"
        )
        user = irc.server.find_nick("x")
        assert user is not None and user.certfp is None
        await c.close()
    finally:
        await irc.stop(timeout=2)


async def test_external_with_an_authzid_in_another_case(pki, live_client) -> None:
    """An authorization identity is the account's name in any case; another one fails."""
    irc = await start(pki, client_ca=True)
    try:
        [(_, port)] = irc.addresses
        for asked, result in (("k1abc", "903"), ("K2XYZ", "904")):
            c = await live_client(port, ssl_context=client_context(pki, "trusted"))
            await c.send("CAP REQ :sasl", "NICK k1abc", "USER k1abc 0 * :r")
            await c.send("AUTHENTICATE EXTERNAL")
            await c.expect("AUTHENTICATE")
            await c.send("AUTHENTICATE " + base64.b64encode(asked.encode()).decode())
            assert (await c.expect("903", "904")).command == result, asked
            await c.close()
    finally:
        await irc.stop(timeout=2)
