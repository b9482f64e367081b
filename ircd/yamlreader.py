"""Reading composed YAML nodes: typed values, line-numbered problems collected together.

`Reader` walks the nodes of `yaml.compose` (so every node keeps its line number); each
method returns a value or None and records a problem such as
``irc.yaml:12: irc.listen[0].port: expected an integer 1-65535, got "80x"``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Collection
from typing import Any, Final

from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ircd.masks import MaskError, MaskItem, parse_mask_item

INT_TAG: Final = "tag:yaml.org,2002:int"
FLOAT_TAG: Final = "tag:yaml.org,2002:float"
STR_TAG: Final = "tag:yaml.org,2002:str"
NULL_TAG: Final = "tag:yaml.org,2002:null"
BOOL_TAG: Final = "tag:yaml.org,2002:bool"


class ConfigError(Exception):
    """The configuration is invalid; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def describe(node: Node) -> str:
    if isinstance(node, ScalarNode):
        return json.dumps(node.value) if node.tag == STR_TAG else node.value or "null"
    return "a mapping" if isinstance(node, MappingNode) else "a list"


class Reader:
    """Walks composed YAML nodes, converting values and collecting problems."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self._problems: list[tuple[int, str]] = []
        self._constructor = SafeConstructor()

    def error(self, node: Node, path: str, text: str) -> None:
        line = node.start_mark.line + 1
        self._problems.append((line, f"{self.filename}:{line}: {path}: {text}"))

    @property
    def problems(self) -> list[str]:
        """Problems in file order (stable, so same-line problems keep their order)."""
        return [text for _, text in sorted(self._problems, key=lambda p: p[0])]

    def mapping(self, node: Node, path: str, known: Collection[str]) -> dict[str, Node] | None:
        if isinstance(node, ScalarNode) and node.tag == NULL_TAG:
            return {}
        if not isinstance(node, MappingNode):
            self.error(node, path, f"expected a mapping, got {describe(node)}")
            return None
        out: dict[str, Node] = {}
        for key_node, value in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str) or key_node.tag != STR_TAG:
                self.error(key_node, path, f"keys must be strings, got {describe(key_node)}")
                continue
            sub = f"{path}.{key}"
            if key in out:
                self.error(key_node, sub, "duplicate key")
            elif key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.error(key_node, sub, f"unknown key{hint}")
            else:
                out[key] = value
        return out

    def sequence(self, node: Node, path: str) -> list[Node] | None:
        if not isinstance(node, SequenceNode):
            self.error(node, path, f"expected a list, got {describe(node)}")
            return None
        return list(node.value)

    def _scalar(self, node: Node) -> Any:
        try:
            return self._constructor.construct_object(node)
        except ConstructorError:
            return None

    def string(
        self, node: Node, path: str, check: Callable[[str], str | None] | None = None
    ) -> str | None:
        if not isinstance(node, ScalarNode) or node.tag != STR_TAG:
            self.error(node, path, f"expected a string, got {describe(node)}")
            return None
        value = node.value
        problem = check(value) if check else None
        if problem:
            self.error(node, path, f"{problem}, got {json.dumps(value)}")
            return None
        return value

    def number(self, node: Node, path: str, lo: float, hi: float, *, integer: bool) -> Any:
        tags = (INT_TAG,) if integer else (INT_TAG, FLOAT_TAG)
        kind = "an integer" if integer else "a number"
        value = self._scalar(node) if isinstance(node, ScalarNode) and node.tag in tags else None
        if value is None or not lo <= value <= hi:
            self.error(node, path, f"expected {kind} {_num(lo)}-{_num(hi)}, got {describe(node)}")
            return None
        return value

    def boolean(self, node: Node, path: str) -> bool | None:
        if not isinstance(node, ScalarNode) or node.tag != BOOL_TAG:
            self.error(node, path, f"expected yes or no, got {describe(node)}")
            return None
        return bool(self._scalar(node))

    def mask(self, node: Node, path: str) -> MaskItem | None:
        """A mask item (see `ircd.masks`); each problem is reported at its own line."""
        try:
            value = self._constructor.construct_object(node, deep=True)
        except ConstructorError as e:
            self.error(node, path, f"not a plain value: {e.problem}")
            return None
        try:
            return parse_mask_item(value)
        except MaskError as e:
            for sub, text in e.problems:
                self.error(_key_node(node, sub), f"{path}.{sub}" if sub else path, text)
            return None


def _key_node(node: Node, key: str) -> Node:
    """The node of `key` in a mapping node (for its line), or the node itself."""
    if isinstance(node, MappingNode):
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value.replace("_", "-") == key:
                return key_node
    return node


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)
