"""The type checker over the three packages: mypy, strict (pyproject.toml [tool.mypy]), 0 errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_error_in_gateway_ircd_and_radio() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "gateway", "ircd", "radio"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout, result.stdout
