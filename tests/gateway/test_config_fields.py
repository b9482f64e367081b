"""The one generic reader of declared settings (`gateway/config/fields.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import yaml

from gateway.config.fields import build, keys, spec
from ircd.yamlreader import ConfigError, Reader, Section


@dataclass(frozen=True, slots=True)
class Sample:
    count: int = field(default=3, metadata=spec(1, 10))
    ratio: float = field(default=0.5, metadata=spec(0, 1, old="fraction"))
    enabled: bool = field(default=True, metadata=spec())
    mode: str = field(default="a", metadata=spec(choices=("a", "b")))
    label: str | None = field(default=None, metadata=spec())
    limit: float | None = field(default=None, metadata=spec(1, 100))
    depth: int = field(default=7, metadata=spec(0, 9, key="max_depth", under="nested"))
    made: str = field(default="", metadata=spec(custom=True))
    internal: str = "not read"


@dataclass(frozen=True, slots=True)
class Optional:
    t2: float | None = field(default=None, metadata=spec(0, 30))


def read(text: str) -> tuple[Sample, list[str]]:
    r = Reader("s.yaml")
    section = Section(r, yaml.compose(text), "s", keys(Sample))
    sample = build(section, Sample, custom={"made": lambda s, k: f"by {k}"})
    try:
        r.raise_if_problems()
    except ConfigError as exc:
        return sample, exc.problems
    return sample, []


def test_keys_come_from_the_declarations() -> None:
    assert keys(Sample) == {
        "count", "ratio", "fraction", "enabled", "mode", "label", "limit", "nested", "made",
    }  # fmt: skip
    assert keys(Sample, "nested") == {"max_depth"}


def test_defaults_when_absent() -> None:
    assert read("{}") == (Sample(made="by made"), [])


def test_each_type_read_by_its_declaration() -> None:
    text = "{count: 9, fraction: 0.25, enabled: false, mode: b, label: x, limit: 50,"
    text += " nested: {max_depth: 2}}"
    sample, problems = read(text)
    assert problems == []
    assert sample == Sample(9, 0.25, False, "b", "x", 50.0, 2, "by made")


def test_an_optional_number_may_be_zero() -> None:
    """`X | None`: None when absent, the value read (0 too) when given."""
    assert read("limit: 1")[0].limit == 1.0
    zero = build(Section(Reader("z"), yaml.compose("t2: 0"), "z", {"t2"}), Optional)
    assert zero == Optional(t2=0.0)
    assert build(Section(Reader("z"), yaml.compose("{}"), "z", {"t2"}), Optional).t2 is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("count: 11", "s.yaml:1: s.count: expected an integer 1-10, got 11"),
        ("ratio: x", 's.yaml:1: s.ratio: expected a number 0-1, got "x"'),
        ("enabled: 1", "s.yaml:1: s.enabled: expected true or false, got 1"),
        ("mode: c", 's.yaml:1: s.mode: expected one of a, b, got "c"'),
        ('label: ""', 's.yaml:1: s.label: must not be empty, got ""'),
        ("limit: 0", "s.yaml:1: s.limit: expected a number 1-100, got 0"),
        (
            "nested: {max_depth: 10}",
            "s.yaml:1: s.nested.max_depth: expected an integer 0-9, got 10",
        ),
        (
            "{ratio: 0.1, fraction: 0.2}",
            "s.yaml:1: s.fraction: give s.ratio only (fraction is its old name)",
        ),
        ("bogus: 1", "s.yaml:1: s.bogus: unknown key"),
    ],
)
def test_a_bad_value_is_one_problem_and_reads_as_its_default(text: str, problem: str) -> None:
    sample, problems = read(text)
    assert problems == [problem]
    assert sample.count == 3 and sample.mode == "a"
