"""`gateway backup DIR`, next to a running gateway, and a restore from what it wrote."""

from __future__ import annotations

import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from tests.gateway.support import GatewayProcess, enroll, free_port, run_cli

Spawn = Callable[[Path], GatewayProcess]


def config_at(path: Path, data: Path) -> Path:
    path.write_text(
        f"data_dir: {data}\n"
        f"irc: {{listen: [{{host: 127.0.0.1, port: {free_port()}}}]}}\n"
        f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {free_port()}}}]}}\n"
    )
    return path


async def test_backup_while_running_then_restore(tmp_path: Path, spawn_gateway: Spawn) -> None:
    config = config_at(tmp_path / "gw.yaml", tmp_path / "data")
    enroll(config, "N0TEST")
    gw = spawn_gateway(config)
    await gw.start()
    done = run_cli(config, "backup", str(tmp_path / "backups"))
    assert done.returncode == 0, done.stderr
    copies = sorted((tmp_path / "backups").iterdir())
    assert [p.suffix for p in copies] == [".db", ".key"]
    for path in copies:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "backups").stat().st_mode) == 0o700
    assert await gw.stop() == 0

    # Restore: the two files under their names in a new data directory.
    restored = tmp_path / "restored"
    restored.mkdir(mode=0o700)
    shutil.copy2(copies[0], restored / "gateway.db")
    shutil.copy2(copies[1], restored / "secret.key")
    users = run_cli(config_at(tmp_path / "restored.yaml", restored), "users")
    assert users.returncode == 0, users.stderr
    assert "N0TEST" in users.stdout
