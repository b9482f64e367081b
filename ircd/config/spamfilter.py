"""The reader of `irc.spamfilter`: a list of {match, targets, action, reason, duration}.

The matching engine (`ircd.spamfilter`) checks and compiles each filter; this module
only reads the YAML and names the key a problem is about.
"""

from __future__ import annotations

from typing import Final

from yaml.nodes import Node, ScalarNode, SequenceNode

from ircd.masks import parse_duration
from ircd.spamfilter import (
    ACTIONS,
    DEFAULT_REASON,
    TARGET_ALIASES,
    TARGETS,
    FilterSpec,
    SpamFilterError,
)
from ircd.yamlreader import Reader

_KEYS: Final = ("match", "targets", "action", "reason", "duration")


def read_spamfilters(r: Reader, node: Node, max_filters: int) -> tuple[FilterSpec, ...]:
    """`irc.spamfilter`: a list of {match, targets, action, reason, duration}."""
    items = r.sequence(node, "irc.spamfilter") or []
    if len(items) > max_filters:
        r.error(
            node,
            "irc.spamfilter",
            f"{len(items)} filters, more than irc.limits.max_spamfilters ({max_filters})",
        )
    specs: list[FilterSpec] = []
    for i, item in enumerate(items):
        spec = _read_one(r, item, f"irc.spamfilter[{i}]")
        if spec is not None:
            specs.append(spec)
    return tuple(specs)


def _read_one(r: Reader, item: Node, path: str) -> FilterSpec | None:
    m = r.mapping(item, path, _KEYS)
    if m is None:
        return None
    ok = True
    for key in ("match", "targets", "action"):
        if key not in m:
            r.error(item, path, f"missing key {key!r}")
            ok = False
    match = r.string(m["match"], f"{path}.match") if "match" in m else None
    targets = _read_targets(r, m["targets"], path) if "targets" in m else []
    action = r.string(m["action"], f"{path}.action", _check_action) if "action" in m else None
    reason = r.string(m["reason"], f"{path}.reason") if "reason" in m else DEFAULT_REASON
    duration = _read_duration(r, m["duration"], path) if "duration" in m else 0
    if not ok or targets is None or duration is None:
        return None
    if match is None or action is None or reason is None:
        return None
    try:
        return FilterSpec.build(match, targets, action, reason, duration)
    except SpamFilterError as e:
        # Name the key the problem is about: the pattern, unless it is another field's.
        key = "duration" if "duration" in str(e) else "reason" if "reason" in str(e) else "match"
        r.error(m.get(key, item), f"{path}.{key}", str(e))
        return None


def _read_targets(r: Reader, node: Node, path: str) -> list[str] | None:
    """One target or a list of them; None if any is wrong (each problem recorded)."""
    nodes = node.value if isinstance(node, SequenceNode) else [node]
    names = [r.string(t, f"{path}.targets", _check_target) for t in nodes]
    return None if None in names else [name for name in names if name is not None]


def _read_duration(r: Reader, node: Node, path: str) -> int | None:
    parsed = parse_duration(node.value) if isinstance(node, ScalarNode) else None
    if parsed is None:
        r.error(node, f"{path}.duration", "expected a duration like 3600, 30m, 1d")
    return parsed


def _check_target(value: str) -> str | None:
    if TARGET_ALIASES.get(value, value) in TARGETS:
        return None
    return "expected one of " + ", ".join(TARGETS)


def _check_action(value: str) -> str | None:
    return None if value in ACTIONS else "expected one of " + ", ".join(ACTIONS)
