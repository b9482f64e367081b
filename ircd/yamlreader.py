"""Reading composed YAML nodes: typed values, line-numbered problems collected together.

The one YAML reader of the project (the gateway's config uses it too). Files are parsed
with `yaml.compose` (safe loader) so every node keeps its line number; nothing but the
standard scalar tags is ever constructed. Problems are collected, not raised one by one,
and read like ``irc.yaml:12: irc.listen[0].port: expected an integer 1-65535, got "80x"``.

`Reader` works on nodes and returns None for a bad value; `Section` wraps one mapping
and returns defaults by key name, for configs whose every key is optional.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import stat
from collections.abc import Callable, Collection, Iterator
from typing import Any, Final, TypeVar

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ircd.masks import MaskError, MaskItem, parse_mask_item
from ircd.shown import shown_text

INT_TAG: Final = "tag:yaml.org,2002:int"
FLOAT_TAG: Final = "tag:yaml.org,2002:float"
STR_TAG: Final = "tag:yaml.org,2002:str"
NULL_TAG: Final = "tag:yaml.org,2002:null"
BOOL_TAG: Final = "tag:yaml.org,2002:bool"
MERGE_TAG: Final = "tag:yaml.org,2002:merge"
_PLAIN_TAGS: Final = frozenset((INT_TAG, FLOAT_TAG, STR_TAG, NULL_TAG, BOOL_TAG))
_COLLECTION_TAGS: Final = frozenset(("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"))
MAX_FILE_BYTES: Final = 1 << 20
#: Keys whose value is, or may be, a secret (a sysop may put a plain password in
#: password_hash): a problem with one says what is expected, never what was given.
SECRET_KEYS: Final = frozenset({"password", "password_hash", "webirc_password", "radio_key"})
#: Lists and mappings inside one another; a real config needs fewer than ten.
MAX_DEPTH: Final = 64

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_T = TypeVar("_T")


#: Problems told (printed, logged) of one file; the rest are counted. A 1 MiB file can
#: hold 330,000 of them: 22 MB on stderr, or one log record of it on a reload.
MAX_PROBLEMS_TOLD = 100


class ConfigError(Exception):
    """The configuration is invalid; `problems` holds one line per problem (its text
    tells the first MAX_PROBLEMS_TOLD)."""

    def __init__(self, problems: list[str]) -> None:
        told = problems[:MAX_PROBLEMS_TOLD]
        if len(problems) > MAX_PROBLEMS_TOLD:
            told.append(f"... and {len(problems) - MAX_PROBLEMS_TOLD} more problems")
        super().__init__("\n".join(told))
        self.problems = problems


def read_file(path: str | os.PathLike[str]) -> Node | None:
    """Read and compose a YAML file (at most 1 MiB of UTF-8); any failure is a ConfigError."""
    name = os.fspath(path)
    try:
        mode = os.stat(name).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            # A FIFO or a terminal (/dev/tty) would wait for a writer; a directory is
            # refused by open() below, with its own words.
            raise ConfigError([f"{name}: cannot read: not a regular file"])
        with open(name, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"{name}: cannot read: {exc.strerror}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError([f"{name}: larger than {MAX_FILE_BYTES} bytes"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{name}: not UTF-8 text (byte {exc.start})"]) from None
    try:
        return yaml.compose(text, Loader=_Loader)
    except _TooDeep as exc:
        raise ConfigError(
            [f"{name}:{exc.line}: nested more than {MAX_DEPTH} levels deep"]
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError([f"{name}{line}: invalid YAML: {exc.problem}"]) from None
    except yaml.reader.ReaderError as exc:  # a control character: no mark, a position
        at = text.count("\n", 0, exc.position) + 1
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else "a character"
        raise ConfigError([f"{name}:{at}: invalid YAML: {char} is not allowed"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{name}: invalid YAML: {exc}"]) from None


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing lists and mappings nested past MAX_DEPTH: PyYAML composes
    recursively, and a file of 500 "[" ended in a RecursionError traceback."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(parent.start_mark.line + 1 if parent is not None else 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def describe(node: Node) -> str:
    """A node as quoted in problems: strings in quotes, other scalars as written."""
    if node.tag not in _PLAIN_TAGS and node.tag not in _COLLECTION_TAGS:
        return f"a value tagged {node.tag}"
    if isinstance(node, ScalarNode):
        if node.tag == STR_TAG:
            return shown_text(node.value)
        return shown_text(node.value, quote=False) if node.value else "nothing"
    return "a mapping" if isinstance(node, MappingNode) else "a list"


def is_null(node: Node | None) -> bool:
    return node is None or (isinstance(node, ScalarNode) and node.tag == NULL_TAG)


class Reader:
    """Walks composed YAML nodes, converting values and collecting problems."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self._problems: list[tuple[int, str]] = []
        self._constructor = SafeConstructor()

    def error(self, node: Node | None, path: str, text: str) -> None:
        """Record a problem at `node`'s line (None: the file as a whole)."""
        line = node.start_mark.line + 1 if node is not None else 0
        where = f"{self.filename}:{line}" if node is not None else self.filename
        self._problems.append((line, f"{where}: {path or '(top level)'}: {text}"))

    def merge(self, error: ConfigError) -> None:
        """Take over the problems of another reader of the same file, keeping line order."""
        prefix = f"{self.filename}:"
        for text in error.problems:
            line, _, _ = text.removeprefix(prefix).partition(":")
            self._problems.append((int(line) if line.isdigit() else 0, text))

    @property
    def problems(self) -> list[str]:
        """Problems in file order (stable, so same-line problems keep their order)."""
        return [text for _, text in sorted(self._problems, key=lambda p: p[0])]

    def raise_if_problems(self) -> None:
        if self._problems:
            raise ConfigError(self.problems)

    def mapping(self, node: Node, path: str, known: Collection[str]) -> dict[str, Node] | None:
        if is_null(node):
            return {}
        if not isinstance(node, MappingNode):
            self.error(node, path, f"expected a mapping, got {describe(node)}")
            return None
        out: dict[str, Node] = {}
        for key_node, value in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if key_node.tag == MERGE_TAG:
                self.error(key_node, path, "merge keys (<<) are not supported: write the keys out")
                continue
            if not isinstance(key, str) or key_node.tag != STR_TAG:
                self.error(key_node, path, f"keys must be strings, got {describe(key_node)}")
                continue
            sub = f"{path}.{key}" if path else key
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
        except (ConstructorError, ValueError):  # ValueError: more than 4300 digits
            return None

    def string(
        self,
        node: Node,
        path: str,
        check: Callable[[str], str | None] | None = None,
        *,
        numbers: bool = False,
    ) -> str | None:
        """A string; with `numbers`, an unquoted number is taken as its text (`port: 8001`)."""
        tags = (STR_TAG, INT_TAG, FLOAT_TAG) if numbers else (STR_TAG,)
        if not isinstance(node, ScalarNode) or node.tag not in tags:
            self.error(node, path, f"expected a string{_got(path, describe(node))}")
            return None
        value: str = node.value
        # No setting has a use for NUL ("\0" in double quotes); a path with one made
        # `run` end in a ValueError traceback.
        problem = "has a NUL character" if "\0" in value else check(value) if check else None
        if problem:
            self.error(node, path, f"{problem}{_got(path, shown_text(value))}")
            return None
        return value

    def number(self, node: Node, path: str, lo: float, hi: float, *, integer: bool) -> Any:
        tags = (INT_TAG,) if integer else (INT_TAG, FLOAT_TAG)
        kind = "an integer" if integer else "a number"
        value = self._scalar(node) if isinstance(node, ScalarNode) and node.tag in tags else None
        if value is None or not lo <= value <= hi:
            got = _got(path, describe(node))
            self.error(node, path, f"expected {kind} {_num(lo)}-{_num(hi)}{got}")
            return None
        return value

    def boolean(self, node: Node, path: str) -> bool | None:
        if not isinstance(node, ScalarNode) or node.tag != BOOL_TAG:
            self.error(node, path, f"expected true or false{_got(path, describe(node))}")
            return None
        return bool(self._scalar(node))

    def choice(self, node: Node, path: str, choices: tuple[str, ...]) -> str | None:
        # YAML 1.1 reads a plain off, no, yes or on as a boolean: `messages: off` means
        # the choice "off" as written.
        plain_bool = isinstance(node, ScalarNode) and node.tag == BOOL_TAG and not node.style
        text = node.value if plain_bool else self.string(node, path)
        if text is not None and text not in choices:
            self.error(node, path, f"expected one of {', '.join(choices)}, got {shown_text(text)}")
            return None
        return text

    def networks(self, node: Node, path: str) -> tuple[Network, ...]:
        """A list of addresses or CIDR ranges (IPv4 and IPv6)."""
        nets = []
        for i, item in enumerate(self.sequence(node, path) or ()):
            where = f"{path}[{i}]"
            text = self.string(item, where)
            try:
                if text is not None:
                    nets.append(ipaddress.ip_network(text.strip(), strict=False))
            except ValueError:
                got = describe(item)
                self.error(item, where, f"expected an IP address or CIDR range, got {got}")
        return tuple(nets)

    def mask(self, node: Node, path: str) -> MaskItem | None:
        """A mask item (see `ircd.masks`); each problem is reported at its own line."""
        try:
            value = self._constructor.construct_object(node, deep=True)
        except ConstructorError as e:
            self.error(node, path, f"not a plain value: {e.problem}")
            return None
        except ValueError:  # an integer of more digits than Python converts
            self.error(node, path, "not a plain value: a number too long to read")
            return None
        try:
            return parse_mask_item(value)
        except MaskError as e:
            for sub, text in e.problems:
                self.error(_key_node(node, sub), f"{path}.{sub}" if sub else path, text)
            return None


class Section:
    """One optional mapping of the file: typed getters by key name that fall back to defaults.

    A missing or empty section reads as all defaults; a bad value is a problem and reads
    as its default, so reading goes on and every problem is reported at once.
    """

    def __init__(
        self, reader: Reader, node: Node | None, key: str, allowed: Collection[str]
    ) -> None:
        self.reader = reader
        self.node = node
        self.key = key
        entries = reader.mapping(node, key, allowed) if node is not None else {}
        self.entries: dict[str, Node] = entries or {}

    def path(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def section(self, name: str, allowed: Collection[str]) -> Section:
        return Section(self.reader, self.entries.get(name), self.path(name), allowed)

    def items(self, name: str) -> Iterator[tuple[str, Node]]:
        """`(key[i], node)` for each item of the list under `name` (none if absent)."""
        node = self.entries.get(name)
        if node is None or is_null(node):
            return
        for i, item in enumerate(self.reader.sequence(node, self.path(name)) or ()):
            yield f"{self.path(name)}[{i}]", item

    def _get(self, name: str, default: _T, read: Callable[[Node, str], _T | None]) -> _T:
        node = self.entries.get(name)
        if node is None:
            return default
        value = read(node, self.path(name))
        return default if value is None else value

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        return self._get(name, default, lambda n, p: self.reader.number(n, p, lo, hi, integer=True))

    def number(self, name: str, default: float, lo: float, hi: float) -> float:
        read = self.reader.number
        return float(self._get(name, default, lambda n, p: read(n, p, lo, hi, integer=False)))

    def boolean(self, name: str, default: bool) -> bool:
        return self._get(name, default, self.reader.boolean)

    def string(self, name: str, default: str) -> str:
        return self._get(
            name, default, lambda n, p: self.reader.string(n, p, _nonempty, numbers=True)
        )

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        return self._get(name, default, lambda n, p: self.reader.choice(n, p, choices))

    def networks(self, name: str) -> tuple[Network, ...]:
        return self._get(name, (), self.reader.networks)

    def problem(self, name: str, message: str) -> None:
        self.reader.error(self.entries.get(name, self.node), self.path(name), message)


def _got(path: str, shown: str) -> str:
    """ ", got VALUE" for a problem, or nothing where the key holds a secret."""
    key = path.rpartition(".")[2].partition("[")[0]
    return "" if key in SECRET_KEYS else f", got {shown}"


def _nonempty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _key_node(node: Node, key: str) -> Node:
    """The node of `key` in a mapping node (for its line), or the node itself."""
    if isinstance(node, MappingNode):
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value.replace("_", "-") == key:
                return key_node
    return node


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"
