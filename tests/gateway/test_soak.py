"""bench/soak.py in 20 seconds: logins, replays, garbage, slowloris and a kill -9 or two."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_short_soak_passes_its_checks() -> None:
    args = ["--minutes", "0.35", "--users", "10", "--kill-every", "12", "--seed", "3"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), *args],
        capture_output=True, text=True, timeout=180, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "all checks passed" in done.stdout
    assert "kill -9: " in done.stdout and "login ok: " in done.stdout
