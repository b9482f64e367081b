"""What a reload may not change: the fields declared `restart=` keep their running value.

Pure functions over two configs (the running one, the one just read), so SIGHUP's
decision can be tested without a gateway: `restart_warnings` says what needs a restart
(`restart_keys` names the keys), `keep_running` is the new config with those fields as they run now.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from gateway.config.fields import specs
from gateway.config.schema import RESTART_WARNINGS, Config

T = TypeVar("T")


def _changed(old: Any, new: Any, found: set[str]) -> None:
    """The warnings of the restart-only fields that differ between `old` and `new`, and of
    those in the nested settings (bridge:)."""
    for f, s in specs(type(new)):
        before, after = getattr(old, f.name), getattr(new, f.name)
        if s.restart is not None:
            attr = s.compare or f.name
            if getattr(old, attr) != getattr(new, attr):
                found.add(s.restart)
        elif dataclasses.is_dataclass(after) and specs(type(after)):
            _changed(before, after, found)


def restart_warnings(old: Config, new: Config) -> list[str]:
    """One warning per group of restart-only settings that `new` changes, in a fixed order."""
    found: set[str] = set()
    _changed(old, new, found)
    return [w for w in RESTART_WARNINGS if w in found]


def _changed_keys(old: Any, new: Any, prefix: str, found: list[str]) -> None:
    for f, s in specs(type(new)):
        before, after = getattr(old, f.name), getattr(new, f.name)
        key = ".".join(part for part in (prefix, s.under, s.key or f.name) if part)
        if s.restart is not None:
            attr = s.compare or f.name
            if getattr(old, attr) != getattr(new, attr):
                found.append(key)
        elif dataclasses.is_dataclass(after) and specs(type(after)):
            _changed_keys(before, after, key, found)


def restart_keys(old: Config, new: Config) -> list[str]:
    """The file's keys (`radio`, `bridge.archive.channels`) of the restart-only settings
    that `new` changes, for REHASH's answer."""
    found: list[str] = []
    _changed_keys(old, new, "", found)
    return found


def _keep(old: T, new: T, warnings: frozenset[str]) -> T:
    changes: dict[str, Any] = {}
    for f, s in specs(type(new)):
        before, after = getattr(old, f.name), getattr(new, f.name)
        if s.restart in warnings:
            changes[f.name] = before
        elif s.restart is None and dataclasses.is_dataclass(after) and specs(type(after)):
            changes[f.name] = _keep(before, after, warnings)
    return dataclasses.replace(new, **changes)  # type: ignore[type-var]


def keep_running(old: Config, new: Config) -> Config:
    """`new`, with every group of restart-only settings it changes as it runs now."""
    return _keep(old, new, frozenset(restart_warnings(old, new)))
