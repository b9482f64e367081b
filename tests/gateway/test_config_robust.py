"""Hostile and mistaken config files (the audit of 2026-12-07): each gets one short line
per problem with file:line and key, never a traceback, a secret, or a huge value."""

from __future__ import annotations

import itertools
from pathlib import Path

from bench.gateway_process import run_cli


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
