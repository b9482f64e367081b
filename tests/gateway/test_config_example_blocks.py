"""config.example.yaml: each commented-out block, uncommented as written, passes
`gateway check-config` (M1 of the config audit: the mqtt block's `messages: off`
failed). A block is a comment line that reads as a key (`# key: ...`, `# - key: ...`)
and the comment lines under it at the same `#` column that are indented further; a
comment that goes on from a value's comment on the line above is none. The station's
`callsign` is uncommented with each (radio ports and MQTT need it, as the file says);
the external `irc:` section, which replaces the embedded one, is README's to test."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.tlscerts import self_signed

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.yaml"
_KEY = re.compile(r"( *)# ?((?:- )?[a-z_]+:(?: |$))")
_UNDER = re.compile(r"( *)#(  +\S| ?- )")


def blocks(lines: list[str]) -> list[tuple[int, int]]:
    """(first, end) line indexes of each commented block."""
    found: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        key = _KEY.match(lines[i])
        if key is None or (i and _goes_on(lines[i - 1], len(key.group(1)))):
            i += 1
            continue
        end = i + 1
        while end < len(lines):
            under = _UNDER.match(lines[end])
            if under is None or under.group(1) != key.group(1) or (_KEY.match(lines[end]) and \
                    not lines[end].startswith(key.group(1) + "#  ")):  # fmt: skip
                break
            end += 1
        found.append((i, end))
        i = end
    return found


def _goes_on(above: str, column: int) -> bool:
    """Whether `above` holds a value with its comment at `column` (continued below)."""
    return above[column : column + 1] == "#" and bool(above[:column].strip())


def uncommented(lines: list[str], first: int, end: int) -> str:
    out = list(lines)
    for n in range(first, end):
        out[n] = re.sub(r"#( |$)", "", out[n], count=1)
    if out[first].lstrip().startswith("- "):  # list items under `key: []`
        above = max(n for n in range(first) if not out[n].lstrip().startswith("#"))
        out[above] = out[above].removesuffix(" []")
    return "\n".join(out)


def test_every_commented_block_of_the_example_passes_check_config(tmp_path: Path) -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").split("\n")
    found = blocks(lines)
    station = next(a for a, _ in found if lines[a].startswith("# callsign:"))
    lines[station] = lines[station].removeprefix("# ")
    assert any(lines[a].startswith("# mqtt:") for a, _ in found), found
    assert len(found) >= 10, found
    (tmp_path / "tls").mkdir()
    cert = self_signed(tmp_path / "tls", for_loopback=True)
    shutil.copy(cert.cert, tmp_path / "tls" / "fullchain.pem")
    shutil.copy(cert.key, tmp_path / "tls" / "privkey.pem")
    shutil.copy(cert.cert, tmp_path / "tls" / "clients.pem")
    failed = []
    for first, end in found:
        path = tmp_path / "config.yaml"
        path.write_text(uncommented(lines, first, end), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "gateway", "--config", str(path), "check-config"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            failed.append(f"lines {first + 1}-{end}: {done.stderr.strip()}")
    assert not failed, "\n".join(failed)
