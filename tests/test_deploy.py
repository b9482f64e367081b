"""What a sysop installs: the systemd unit, and the dependency versions pyproject declares."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "deploy" / "gateway.service"


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = project["dependencies"] + project["optional-dependencies"]["test"]
    return [r for r in map(Requirement, texts) if r.marker is None or r.marker.evaluate()]


def _unit_here(tmp_path: Path) -> Path:
    """The unit with ExecStart on this checkout's `gateway` (verify wants it to exist)."""
    program = Path(sys.executable).parent / "gateway"
    assert program.exists(), f"{program}: install the project (pip install -e .)"
    unit = tmp_path / "gateway.service"
    unit.write_text(UNIT.read_text().replace("/opt/gateway/bin/gateway", str(program)))
    return unit


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze is missing (Debian package systemd)"
    unit = _unit_here(tmp_path)
    done = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    # verify exits 0 even for unknown keys and bad values: every warning counts.
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
    security = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    level = re.search(r"Overall exposure level for gateway.service: ([\d.]+)", security.stdout)
    assert level is not None, security.stdout + security.stderr
    assert float(level.group(1)) <= 4.0, security.stdout  # 3.4 at the time of writing


def test_the_installed_dependencies_are_what_pyproject_declares() -> None:
    for req in _declared():
        installed = version(req.name)
        assert req.specifier.contains(installed, prereleases=True), (
            f"{req.name} {installed} is installed, pyproject.toml declares {req.specifier}"
        )


def test_the_constraints_file_pins_every_declared_dependency_inside_its_range() -> None:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = pinned
    for req in _declared():
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pins, f"constraints.txt does not pin {req.name}"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={pins[name]} outside {req.specifier}"
        )
