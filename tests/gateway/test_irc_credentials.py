"""Credentials that survive a reconnect: certfp (SASL EXTERNAL) and application passwords.

`gateway run` with a TLS listener that asks for client certificates; the sysop binds a
real client certificate and makes an application password with the console commands;
real TLS clients log in with them, again after a reconnect; a revoked password fails;
neither works at the radio's code prompt.
"""

from __future__ import annotations

import base64
import re
import ssl
from pathlib import Path

from gateway.auth import admin, credentials, users
from gateway.config import Config
from gateway.store import Store
from tests.gateway.support import Client, GatewayProcess, enroll, free_port, run_cli
from tests.ircd.conftest import LiveClient
from tests.tlscerts import self_signed


def plain(account: str, password: str) -> str:
    return base64.b64encode(f"\0{account}\0{password}".encode()).decode()


def tls_context(server_cert: Path, client: tuple[Path, Path] | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(server_cert))
    context.check_hostname = False
    if client is not None:
        context.load_cert_chain(str(client[0]), str(client[1]))
    return context


async def sasl(client: LiveClient, mechanism: str, payload: str) -> list[str]:
    """CAP LS (its sasl value returned), SASL, CAP END; the numerics up to 903/904."""
    await client.send("CAP LS 302")
    offered = (await client.expect("CAP")).params[-1].split()
    await client.send("CAP REQ :sasl", "NICK K2ABC", "USER k2 0 * :Ham")
    await client.expect("CAP")
    await client.send(f"AUTHENTICATE {mechanism}")
    await client.expect("AUTHENTICATE")
    await client.send(f"AUTHENTICATE {payload}")
    result = (await client.expect("903", "904")).command
    return [next(c for c in offered if c.startswith("sasl")), result]


async def test_certfp_and_app_passwords_survive_reconnects(tmp_path: Path) -> None:
    server = self_signed(tmp_path, "server")
    ham = self_signed(tmp_path, "ham")  # the ham's own self-signed certificate
    plain_port, tls_port, bpq = free_port(), free_port(), free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nauth: {{failure_pause: 0}}\n"
        "irc:\n  listen:\n"
        f"    - {{host: 127.0.0.1, port: {plain_port}}}\n"
        f"    - {{host: 127.0.0.1, port: {tls_port}, tls: {{cert: {server.cert},"
        f" key: {server.key}, client_ca: {ham.cert}}}}}\n"
        f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {bpq}}}]}}\n"
    )
    enroll(config, "K2ABC")
    done = run_cli(config, "certfp", "add", "K2ABC", "--cert", str(ham.cert), "--label", "laptop")
    assert done.returncode == 0 and ham.fingerprint in done.stdout, done.stderr
    done = run_cli(config, "apppass", "add", "K2ABC", "desktop")
    assert done.returncode == 0, done.stderr
    match = re.search(r"^    (\S+)$", done.stdout, re.MULTILINE)
    assert match is not None and credentials.APP_PASSWORD.fullmatch(match[1]), done.stdout
    password = match[1]
    listed = run_cli(config, "apppass", "list", "K2ABC").stdout
    assert "#1" in listed and "desktop" in listed and password not in listed
    assert "laptop" in run_cli(config, "certfp", "list").stdout

    gw = GatewayProcess(config)
    await gw.start()
    try:
        # EXTERNAL with the bound certificate, twice: it survives a reconnect.
        for _ in range(2):
            c = await LiveClient.connect(tls_port, ssl_context=tls_context(server.cert, ham))
            assert await sasl(c, "EXTERNAL", "+") == ["sasl=PLAIN,EXTERNAL", "903"]
            await c.send("CAP END")
            assert (await c.expect("001")).params[0] == "K2ABC"
            await c.close()
        # No certificate, no EXTERNAL offered; the application password, twice.
        for _ in range(2):
            c = await LiveClient.connect(plain_port)
            assert await sasl(c, "PLAIN", plain("K2ABC", password)) == ["sasl=PLAIN", "903"]
            await c.send("CAP END")
            assert (await c.expect("001")).params[0] == "K2ABC"
            await c.close()
        # Never on the air: at the code prompt it is just a failed login.
        radio = await Client.connect(bpq, b"K2ABC\r\n")
        await radio.expect("Code: ")
        radio.send(password.encode() + b"\r")
        await radio.expect("Login failed.")
        radio.close()
        # Logged in with each, and staying.
        by_password = await LiveClient.connect(plain_port)
        assert (await sasl(by_password, "PLAIN", plain("K2ABC", password)))[1] == "903"
        await by_password.send("CAP END")
        await by_password.expect("001")
        by_cert = await LiveClient.connect(tls_port, ssl_context=tls_context(server.cert, ham))
        assert (await sasl(by_cert, "EXTERNAL", "+"))[1] == "903"
        await by_cert.send("CAP END", "NICK K2ABC_")
        await by_cert.expect("001")
        # Revoked (while the gateway runs): refused at once, and the client logged in
        # with it is logged out; the one with the certificate stays.
        assert run_cli(config, "apppass", "revoke", "K2ABC", "1").returncode == 0
        error = await by_password.expect("ERROR")
        assert "revoked or locked" in error.params[0]
        await by_password.close()
        c = await LiveClient.connect(plain_port)
        assert (await sasl(c, "PLAIN", plain("K2ABC", password)))[1] == "904"
        await c.close()
        await by_cert.send("PING :still")
        assert (await by_cert.expect("PONG")).params[-1] == "still"
        # Unbound: the certificate logs in no more, and its client is logged out.
        assert run_cli(config, "certfp", "remove", "K2ABC", ham.fingerprint).returncode == 0
        await by_cert.expect("ERROR")
        await by_cert.close()
        c = await LiveClient.connect(tls_port, ssl_context=tls_context(server.cert, ham))
        assert (await sasl(c, "EXTERNAL", "+"))[1] == "904"
        await c.close()
    finally:
        assert await gw.stop() == 0
    # The store keeps a hash, never the password.
    raw = b"".join(p.read_bytes() for p in (tmp_path / "data").iterdir() if p.is_file())
    assert password.encode() not in raw


def test_credentials_need_an_enrolled_callsign_and_go_with_it(tmp_path: Path) -> None:
    store = Store.open(Config(data_dir=tmp_path / "data"))
    try:
        fp = "ab" * 32
        try:
            credentials.add_certfp(store, "K9XYZ", fp, "", 1.0)
        except credentials.CredentialError as exc:
            assert "not enrolled" in str(exc)
        else:
            raise AssertionError("bound to a callsign that is not enrolled")
        with store.transaction():
            store.put_user("K9XYZ", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", 0, 1.0)
        credentials.add_certfp(store, "K9XYZ", fp, "", 1.0)
        number, password = credentials.add_app_password(store, "K9XYZ", "x", 1.0)
        assert credentials.account_for_certfp(store, fp, 2.0) == "K9XYZ"
        selector = credentials.selector_of(password)
        [(n, digest)] = credentials.app_password_candidates(store, "K9XYZ", selector, 2.0)
        assert n == number and digest.startswith("$argon2id$")
        assert credentials.verify_app_password([(n, digest)], password) == number
        # Another password's selector finds no row: nothing to check, nothing to time.
        other = credentials.selector_of(credentials.new_app_password())
        assert credentials.app_password_candidates(store, "K9XYZ", other, 2.0) == []
        # Someone else's password is not this callsign's.
        assert credentials.app_password_candidates(store, "K9ABC", selector, 2.0) == []
        assert credentials.login_state(store, 2.0) == {
            "K9XYZ": {f"certfp:{fp}", f"apppass:{number}"}
        }
        # Codes log in on IRC only where the sysop allows it (`gateway irc-codes`).
        with store.transaction():
            users.set_irc_codes(store, "K9XYZ", True)
        assert credentials.login_state(store, 2.0) == {
            "K9XYZ": {"totp:1.0", f"certfp:{fp}", f"apppass:{number}"}
        }
        with store.transaction():
            store.delete_user("K9XYZ")  # gateway revoke
        assert credentials.account_for_certfp(store, fp, 3.0) is None
        assert credentials.list_credentials(store, "app_passwords", None) == []
        assert credentials.login_state(store, 3.0) == {}
        assert credentials.normalize_fingerprint("AB:" * 31 + "AB") == fp
    finally:
        store.close()


def test_a_locked_callsign_logs_in_with_nothing(tmp_path: Path) -> None:
    """RADIO LOCK holds for certificates and application passwords too, and a lock set
    while Argon2id runs is seen after it (the row is looked at again)."""
    store = Store.open(Config(data_dir=tmp_path / "data"))
    try:
        with store.transaction():
            store.put_user("K9XYZ", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", 0, 1.0)
        fp = "cd" * 32
        credentials.add_certfp(store, "K9XYZ", fp, "", 1.0)
        number, password = credentials.add_app_password(store, "K9XYZ", "x", 1.0)
        selector = credentials.selector_of(password)
        [candidate] = credentials.app_password_candidates(store, "K9XYZ", selector, 2.0)
        assert admin.lock(store, "K9XYZ", 100.0)
        assert credentials.app_password_used(store, "K9XYZ", number, selector, 3.0) is False
        assert credentials.app_password_candidates(store, "K9XYZ", selector, 3.0) == []
        assert credentials.account_for_certfp(store, fp, 3.0) is None
        assert credentials.login_state(store, 3.0) == {}
        # The lock runs out: both work again.
        assert credentials.account_for_certfp(store, fp, 101.0) == "K9XYZ"
        assert credentials.app_password_candidates(store, "K9XYZ", selector, 101.0) == [candidate]
        assert credentials.app_password_used(store, "K9XYZ", number, selector, 101.0) is True
        # Revoked while Argon2id ran: refused after the check.
        assert credentials.revoke_app_password(store, "K9XYZ", number)
        assert credentials.app_password_used(store, "K9XYZ", number, selector, 102.0) is False
    finally:
        store.close()


def test_app_passwords_from_before_selectors_no_longer_log_in(tmp_path: Path) -> None:
    """A row without a selector (made by version 0.1.0) is never checked: checking it
    would cost an Argon2id check per guess and tell who has one. It stays listed,
    marked, and counted for the warning at start."""
    store = Store.open(Config(data_dir=tmp_path / "data"))
    try:
        with store.transaction():
            store.put_user("K9XYZ", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", 0, 1.0)
        number, password = credentials.add_app_password(store, "K9XYZ", "old", 1.0)
        with store.transaction():
            store.db.execute("UPDATE app_passwords SET selector = NULL")
        selector = credentials.selector_of(password)
        assert credentials.app_password_candidates(store, "K9XYZ", selector, 2.0) == []
        assert not credentials.app_password_used(store, "K9XYZ", number, selector, 2.0)
        assert credentials.legacy_app_passwords(store) == 1
        [listed] = credentials.list_credentials(store, "app_passwords", "K9XYZ")
        assert listed.legacy and listed.key == str(number)
        assert credentials.login_state(store, 2.0) == {"K9XYZ": frozenset()}
    finally:
        store.close()
