"""Field metadata and the one generic reader of the gateway's settings.

Each settings dataclass declares, on its fields, what the file may hold: the key (the
field's name unless said), its range or choices, a sub-mapping it lives under, an old
name still read, whether a reload may change it (`restart`). `build` reads a section
into the dataclass by those declarations and each field's type; the few fields a type
cannot say how to read (lists of channels, paths, a nested section) name a reader of
their own. Problems read as `file:line: key: expected ..., got ...` (`ircd/yamlreader.py`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from ircd.yamlreader import Section

T = TypeVar("T")
#: A field's own reader: the section it lives in and its key -> the value.
Custom = Callable[[Section, str], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Spec:
    """What the file may say of one field."""

    lo: float = 0
    hi: float = 0
    key: str | None = None
    choices: tuple[str, ...] = ()
    #: The sub-mapping the key lives in (`bridge.archive.max_messages`).
    under: str | None = None
    #: A name this key had before; read when given, never with the new one.
    old: str | None = None
    #: Read by a reader of the section's own (see `build`).
    custom: bool = False
    #: The warning of a reload that changes it: the running value stays until a restart.
    restart: str | None = None
    #: Compare this attribute of the owner instead of the field (a derived path).
    compare: str | None = None


def spec(lo: float = 0, hi: float = 0, **kw: Any) -> dict[str, Spec]:
    """Field metadata: `field(default=80, metadata=spec(0, 1000))`."""
    return {"spec": Spec(lo, hi, **kw)}


def specs(cls: type) -> list[tuple[dataclasses.Field[Any], Spec]]:
    """The fields of `cls` read from the file, with their Spec, in declaration order."""
    fields = dataclasses.fields(cls)
    return [(f, f.metadata["spec"]) for f in fields if "spec" in f.metadata]


def keys(cls: type, under: str | None = None, extra: Collection[str] = ()) -> frozenset[str]:
    """The keys a mapping of `cls` may hold (`under`: those of one of its sub-mappings)."""
    found = set(extra)
    for f, s in specs(cls):
        if s.under == under:
            found.add(s.key or f.name)
            found.update([s.old] if s.old else [])
        elif under is None and s.under is not None:
            found.add(s.under)
    return frozenset(found)


def _optional(read: Callable[[Section, str, Any, Spec], Any]) -> Callable[..., Any]:
    """A `X | None` field: None when the key is absent, else read as X."""

    def reader(section: Section, key: str, default: Any, s: Spec) -> Any:
        if key not in section.entries:
            return None
        return read(section, key, default, s)

    return reader


def _string(section: Section, key: str, default: Any, s: Spec) -> Any:
    if s.choices:
        return section.choice(key, default, s.choices)
    return section.string(key, default)


def _number(section: Section, key: str, default: Any, s: Spec) -> Any:
    return section.number(key, default, s.lo, s.hi)


#: How a field's type is read (its annotation, as written in the dataclass).
_BY_TYPE: Mapping[str, Callable[[Section, str, Any, Spec], Any]] = {
    "int": lambda section, key, default, s: section.integer(key, default, int(s.lo), int(s.hi)),
    "float": _number,
    "bool": lambda section, key, default, s: section.boolean(key, default),
    "str": _string,
    # An empty string is a problem (the default then reads as None, as if absent).
    "str | None": _optional(lambda section, key, default, s: _string(section, key, "", s) or None),
    "float | None": _optional(lambda section, key, default, s: _number(section, key, 0, s)),
    "tuple[Network, ...]": lambda section, key, default, s: section.networks(key),
}


def _default(f: dataclasses.Field[Any], defaults: Mapping[str, Any]) -> Any:
    if f.name in defaults:
        return defaults[f.name]
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _key(section: Section, name: str, s: Spec) -> str:
    """The key read: the old name if the file uses it (never both)."""
    key = s.key or name
    if s.old and s.old in section.entries:
        if key in section.entries:
            section.problem(s.old, f"give {section.path(key)} only ({s.old} is its old name)")
        return s.old
    return key


def read_field(
    section: Section,
    cls: type,
    name: str,
    default: Any = dataclasses.MISSING,
    custom: Custom | None = None,
) -> Any:
    """One field of `cls` read from `section` (not from a sub-mapping) by its Spec."""
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    s: Spec = f.metadata["spec"]
    key = _key(section, f.name, s)
    if s.custom:
        assert custom is not None, f"{cls.__name__}.{name} needs its own reader"
        return custom(section, key)
    fallback = _default(f, {} if default is dataclasses.MISSING else {name: default})
    return _BY_TYPE[str(f.type)](section, key, fallback, s)


def build(
    section: Section,
    cls: type[T],
    *,
    given: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
    custom: Mapping[str, Custom] | None = None,
) -> T:
    """`cls` read from `section` by its fields' Specs, in their order: `given` values are
    taken as they are, `defaults` replace the dataclass's, `custom` reads the fields marked
    custom. A bad value is a problem on the reader and reads as its default."""
    values = dict(given or {})
    subs: dict[str, Section] = {}
    for f, s in specs(cls):
        if f.name in values:
            continue
        where = section
        if s.under is not None:
            if s.under not in subs:
                subs[s.under] = section.section(s.under, keys(cls, s.under))
            where = subs[s.under]
        default = (defaults or {}).get(f.name, dataclasses.MISSING)
        values[f.name] = read_field(where, cls, f.name, default, (custom or {}).get(f.name))
    return cls(**values)
