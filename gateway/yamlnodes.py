"""Typed reading of a composed YAML tree, keeping line numbers for error messages.

The configuration is parsed with `yaml.compose` (safe loader) rather than `safe_load`
so every value still knows its line; problems are collected, not raised one by one,
and reported together as `file:line: dotted.key: what was expected, got what`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import yaml

_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null")
)
_COLLECTION_TAGS = frozenset(("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"))


class ConfigError(Exception):
    """One or more configuration problems; `str()` gives one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def compose_file(path: str, text: str) -> yaml.Node | None:
    """Compose YAML text into a node tree; a syntax error becomes a ConfigError."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError([f"{path}{line}: invalid YAML: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: invalid YAML: {exc}"]) from None


def _show(node: yaml.Node) -> str:
    if node.tag not in _PLAIN_TAGS and node.tag not in _COLLECTION_TAGS:
        return f"a value tagged {node.tag}"
    if isinstance(node, yaml.ScalarNode):
        return f'"{node.value}"' if node.value != "" else "nothing"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return "a list"


class Reader:
    """Collects problems while reading nodes; every getter returns a default on error."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[str] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def problem(self, node: yaml.Node | None, key: str, message: str) -> None:
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        self.problems.append(f"{self.filename}{line}: {key}: {message}")

    def raise_if_problems(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)

    # -- structure --------------------------------------------------------------

    def mapping(
        self, node: yaml.Node | None, key: str, allowed: frozenset[str]
    ) -> dict[str, yaml.Node]:
        """The entries of a mapping node; unknown or duplicate keys are problems."""
        if node is None or _is_null(node):
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, key, f"expected a mapping, got {_show(node)}")
            return {}
        out: dict[str, yaml.Node] = {}
        for knode, vnode in node.value:
            name = knode.value if isinstance(knode, yaml.ScalarNode) else None
            child = f"{key}.{name}" if key else str(name)
            if name is None:
                self.problem(knode, key or "(top level)", "keys must be plain names")
            elif name not in allowed:
                hint = ", ".join(sorted(allowed))
                self.problem(knode, child, f"unknown key (expected one of: {hint})")
            elif name in out:
                self.problem(knode, child, "duplicate key")
            else:
                out[name] = vnode
        return out

    def sequence(self, node: yaml.Node | None, key: str) -> Iterator[tuple[str, yaml.Node]]:
        """Yield `(key[i], node)` for each item of a list node."""
        if node is None or _is_null(node):
            return
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, key, f"expected a list, got {_show(node)}")
            return
        for index, item in enumerate(node.value):
            yield f"{key}[{index}]", item

    # -- scalars ----------------------------------------------------------------

    def _scalar(self, node: yaml.Node) -> Any:
        # Only the standard scalar tags: `!!python/...` and friends never construct.
        if not isinstance(node, yaml.ScalarNode) or node.tag not in _PLAIN_TAGS:
            return _NOT_SCALAR
        try:
            return self._constructor.construct_object(node)
        except yaml.YAMLError:
            return _NOT_SCALAR

    def integer(self, node: yaml.Node | None, key: str, default: int, lo: int, hi: int) -> int:
        if node is None:
            return default
        value = self._scalar(node)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.problem(node, key, f"expected an integer {lo}-{hi}, got {_show(node)}")
            return default
        return value

    def number(
        self, node: yaml.Node | None, key: str, default: float, lo: float, hi: float
    ) -> float:
        """A duration or rate: an integer or decimal number within [lo, hi]."""
        if node is None:
            return default
        value = self._scalar(node)
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
            self.problem(node, key, f"expected a number {lo:g}-{hi:g}, got {_show(node)}")
            return default
        return float(value)

    def boolean(self, node: yaml.Node | None, key: str, default: bool) -> bool:
        if node is None:
            return default
        value = self._scalar(node)
        if not isinstance(value, bool):
            self.problem(node, key, f"expected true or false, got {_show(node)}")
            return default
        return value

    def string(
        self, node: yaml.Node | None, key: str, default: str, *, nonempty: bool = True
    ) -> str:
        if node is None:
            return default
        value = self._scalar(node)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.problem(node, key, f"expected a string, got {_show(node)}")
            return default
        text = str(value) if not isinstance(value, str) else value
        if nonempty and not text.strip():
            self.problem(node, key, "must not be empty")
            return default
        return text

    def choice(
        self, node: yaml.Node | None, key: str, default: str, choices: tuple[str, ...]
    ) -> str:
        text = self.string(node, key, default)
        if text not in choices:
            self.problem(node, key, f'expected one of {", ".join(choices)}, got "{text}"')
            return default
        return text

    def networks(
        self, node: yaml.Node | None, key: str
    ) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """A list of addresses or CIDR ranges (IPv4 and IPv6)."""
        nets = []
        for child_key, item in self.sequence(node, key):
            text = self.string(item, child_key, "")
            if not text:
                continue
            try:
                nets.append(ipaddress.ip_network(text.strip(), strict=False))
            except ValueError:
                self.problem(
                    item, child_key, f"expected an IP address or CIDR range, got {_show(item)}"
                )
        return tuple(nets)


class Section:
    """One mapping of the file: typed getters by key name, with defaults."""

    def __init__(self, reader: Reader, node: yaml.Node | None, key: str, allowed: frozenset[str]):
        self.reader = reader
        self.node = node
        self.key = key
        self.entries = reader.mapping(node, key, allowed)

    def path(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def section(self, name: str, allowed: frozenset[str]) -> Section:
        return Section(self.reader, self.entries.get(name), self.path(name), allowed)

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        return self.reader.integer(self.entries.get(name), self.path(name), default, lo, hi)

    def number(self, name: str, default: float, lo: float, hi: float) -> float:
        return self.reader.number(self.entries.get(name), self.path(name), default, lo, hi)

    def boolean(self, name: str, default: bool) -> bool:
        return self.reader.boolean(self.entries.get(name), self.path(name), default)

    def string(self, name: str, default: str) -> str:
        return self.reader.string(self.entries.get(name), self.path(name), default)

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        return self.reader.choice(self.entries.get(name), self.path(name), default, choices)

    def networks(self, name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return self.reader.networks(self.entries.get(name), self.path(name))

    def problem(self, name: str, message: str) -> None:
        self.reader.problem(self.entries.get(name, self.node), self.path(name), message)


_NOT_SCALAR = object()


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")
