"""The shared IRC parser test vectors (ircdocs `parser-tests`, CC0): what every IRC
implementation should split, join and match alike, run against our parser, serializer
and glob matchers. `userhost-split` and `validate-hostname` have no counterpart here
(the server never splits a source it did not build, and takes no host names from
clients)."""

from __future__ import annotations

from typing import Any

import pytest
from parser_tests import data

from ircd.globs import Glob, glob_match
from ircd.protocol import parse_line, serialize


def _tags(atoms: dict[str, Any]) -> dict[str, str]:
    # The vectors write a tag without a value as null; ours is "".
    return {k: v if v is not None else "" for k, v in (atoms.get("tags") or {}).items()}


@pytest.mark.parametrize("case", data.msg_split["tests"], ids=lambda c: c["input"][:40])
def test_msg_split(case: dict[str, Any]) -> None:
    atoms = case["atoms"]
    msg = parse_line(case["input"].encode())
    assert msg.tags == _tags(atoms)
    assert msg.source == atoms.get("source")
    assert msg.command == atoms["verb"].upper()  # commands are case-insensitive; ours upper
    assert msg.params == tuple(atoms.get("params") or ())


@pytest.mark.parametrize("case", data.msg_join["tests"], ids=lambda c: c.get("desc", "")[:40])
def test_msg_join(case: dict[str, Any]) -> None:
    atoms = case["atoms"]
    params = tuple(atoms.get("params") or ())
    line = serialize(_tags(atoms), atoms.get("source"), atoms["verb"], params)
    assert line.endswith(b"\r\n")
    assert line[:-2].decode() in case["matches"]


@pytest.mark.parametrize("case", data.mask_match["tests"], ids=lambda c: c["mask"])
def test_mask_match(case: dict[str, Any]) -> None:
    compiled = Glob(case["mask"])  # as channel bans hold it
    for text in case["matches"]:
        assert glob_match(case["mask"], text) and compiled.match(text), text
    for text in case["fails"]:
        assert not glob_match(case["mask"], text) and not compiled.match(text), text
