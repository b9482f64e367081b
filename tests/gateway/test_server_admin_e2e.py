"""Operators' server commands against `gateway run`: REHASH answers its outcome, and KILL,
REHASH and server bans land in the audit trail with the acting nick."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.gateway.support import GatewayProcess, free_port, run_cli
from tests.gateway.test_operators_e2e import notices_until, oper_config, operator

Spawn = Callable[[Path], GatewayProcess]


async def test_rehash_answers_reloaded_restart_keys_or_refused_and_is_audited(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    bpq, irc_port = free_port(), free_port()
    config = oper_config(tmp_path, bpq, irc_port)
    gw = spawn_gateway(config)
    await gw.start()
    op = await operator(irc_port)
    good = config.read_text()

    await op.send("REHASH")
    assert (await op.expect("382")).params[1] == str(config)
    said = await notices_until(op, "rehashed the server")
    assert said[-1] == f"sysop (oper sysop) rehashed the server: reloaded {config}"

    config.write_text(good + "callsign: N0GW-10\n")
    await op.send("REHASH")
    said = await notices_until(op, "rehashed the server")
    assert said[-1].endswith(
        f"reloaded {config}, but these keep their running value until a restart: callsign"
    )

    config.write_text(good.replace(f"port: {bpq}", "port: 80x"))
    await op.send("REHASH")
    said = await notices_until(op, "rehashed the server")
    refused = "sysop (oper sysop) rehashed the server: refused, the running configuration stays: "
    assert said[-1].startswith(refused + f"{config}:"), said
    assert "80x" in said[-1]
    await op.close()

    config.write_text(good)
    lines = run_cli(config, "audit", "--since", "1h").stdout.splitlines()
    rehashes = [line for line in lines if ": REHASH -> " in line]
    assert len(rehashes) == 3
    assert all("irc:sysop (oper sysop)  from 127.0.0.1: REHASH -> " in r for r in rehashes)
    assert rehashes[2].split(" -> ", 1)[1].startswith("refused, the running configuration")
    assert await gw.stop() == 0
