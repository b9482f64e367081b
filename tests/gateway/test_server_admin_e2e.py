"""Operators' server commands against `gateway run`: REHASH answers its outcome, and KILL,
REHASH and server bans land in the audit trail with the acting nick."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.gateway.support import GatewayProcess, free_port, run_cli
from tests.gateway.test_operators_e2e import notices_until, oper_config, operator
from tests.ircd.conftest import LiveClient

Spawn = Callable[[Path], GatewayProcess]
#: How `gateway audit` names the operator the tests log in as.
SYSOP = "irc:sysop (oper sysop)  from 127.0.0.1: "


@dataclass
class Rig:
    config: Path
    bpq: int
    irc_port: int
    gw: GatewayProcess
    op: LiveClient


async def operator_on_gateway(tmp_path: Path, spawn_gateway: Spawn) -> Rig:
    """`gateway run` with an operator block, and an operator logged in to it."""
    bpq, irc_port = free_port(), free_port()
    config = oper_config(tmp_path, bpq, irc_port)
    gw = spawn_gateway(config)
    await gw.start()
    return Rig(config, bpq, irc_port, gw, await operator(irc_port))


def audited(config: Path) -> list[str]:
    """The last hour's audit lines, as `gateway audit` prints them."""
    return run_cli(config, "audit", "--since", "1h").stdout.splitlines()


async def test_rehash_answers_reloaded_restart_keys_or_refused_and_is_audited(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    rig = await operator_on_gateway(tmp_path, spawn_gateway)
    config, gw, op = rig.config, rig.gw, rig.op
    good = config.read_text()

    await op.send("REHASH")
    assert (await op.expect("382")).params[1] == str(config)
    said = await notices_until(op, "rehashed the server")
    rehashed = "*** ANNOUNCEMENT: sysop (oper sysop) rehashed the server"
    assert said[-1] == f"{rehashed}: reloaded {config}"

    config.write_text(good + "callsign: N0GW-10\n")
    await op.send("REHASH")
    said = await notices_until(op, "rehashed the server")
    assert said[-1].endswith(
        f"reloaded {config}, but these keep their running value until a restart: callsign"
    )

    config.write_text(good.replace(f"port: {rig.bpq}", "port: 80x"))
    await op.send("REHASH")
    said = await notices_until(op, "rehashed the server")
    refused = f"{rehashed}: refused, the running configuration stays: "
    assert said[-1].startswith(refused + f"{config}:"), said
    assert "80x" in said[-1]
    await op.close()

    config.write_text(good)
    rehashes = [line for line in audited(config) if ": REHASH -> " in line]
    assert len(rehashes) == 3
    assert all(SYSOP + "REHASH -> " in r for r in rehashes)
    assert rehashes[2].split(" -> ", 1)[1].startswith("refused, the running configuration")
    assert await gw.stop() == 0


async def test_kill_and_a_kline_set_and_removed_the_inspircd_way_are_audited(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    rig = await operator_on_gateway(tmp_path, spawn_gateway)
    config, gw, op = rig.config, rig.gw, rig.op
    victim = await LiveClient.connect(rig.irc_port)
    await victim.register("victim")

    await op.send("KILL victim :flooding")
    assert (await victim.until_closed())[-1].command == "ERROR"
    await op.send("KLINE 10m *@192.0.2.3 :solanum order")
    await notices_until(op, "K-line saved")
    await op.send("STATS k")
    row = await op.expect("216")
    assert row.params[1] == "*@192.0.2.3" and row.params[3:] == ("600", "sysop", "solanum order")
    await op.send("KLINE *@192.0.2.3")  # InspIRCd's removal form
    removed_note = (await notices_until(op, "removed"))[-1]
    assert removed_note.startswith("*** XLINE: K-line on *@192.0.2.3 removed")
    await op.send("STATS k")
    assert (await op.expect("216", "219")).command == "219"
    await op.close()

    ours = [line.split(SYSOP, 1)[1] for line in audited(config) if SYSOP in line]
    assert ours == [
        "KILL victim: flooding -> killed",
        "KLINE *@192.0.2.3 10m: solanum order -> set, 0 disconnected",
        "KLINE *@192.0.2.3 -> removed",
    ]
    assert await gw.stop() == 0


async def test_console_lists_and_removes_a_line_and_the_running_gateway_drops_it(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    rig = await operator_on_gateway(tmp_path, spawn_gateway)
    config, gw, op = rig.config, rig.gw, rig.op
    await op.send("KLINE *@192.0.2.3 1h :from irc", "ZLINE 192.0.2.4 :perm")
    await notices_until(op, "Z-line saved")

    listed = run_cli(config, "bans", "list").stdout.splitlines()
    assert listed[0].startswith("K  *@192.0.2.3  set by sysop ")
    assert re.fullmatch(r"K  \*@192\.0\.2\.3  set by sysop \S+ \S+Z, expires \S+ \S+Z: from irc",
                        listed[0]), listed[0]  # fmt: skip
    assert listed[1].startswith("Z  192.0.2.4  set by sysop ") and "permanent: perm" in listed[1]
    assert listed[2] == "2 line(s)."
    assert run_cli(config, "bans", "list", "z").stdout.splitlines()[-1] == "1 line(s)."

    removed = run_cli(config, "bans", "remove", "kline", "*@192.0.2.3")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.startswith("K-line on *@192.0.2.3 removed")
    # The running gateway notices the store change and tells the operators.
    said = await notices_until(op, "removed outside IRC")
    gone = "K-line on *@192.0.2.3 removed outside IRC (gone from the ban store)"
    assert said[-1] == f"*** XLINE: {gone}"
    await op.send("STATS k")
    assert (await op.expect("216", "219")).command == "219"

    again = run_cli(config, "bans", "remove", "K", "*@192.0.2.3")
    assert again.returncode == 1 and "no K-line on *@192.0.2.3" in again.stderr
    bad = run_cli(config, "bans", "remove", "X", "*@192.0.2.3")
    assert bad.returncode == 1 and "not a kind of server ban" in bad.stderr
    audit = "\n".join(audited(config))
    assert "bans remove K *@192.0.2.3 -> removed" in audit
    assert "bans remove K *@192.0.2.3 -> no such line" in audit
    await op.close()
    assert await gw.stop() == 0
