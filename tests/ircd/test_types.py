"""The type checker over ircd/: mypy, configured in pyproject.toml ([tool.mypy]), 0 errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_finds_no_error_in_ircd() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "ircd"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout, result.stdout
