"""docs/ARCHITECTURE.md lists every capability CAP LS offers, and only those."""

from __future__ import annotations

import re
from pathlib import Path

from ircd.caps import METADATA, METADATA_3, SUPPORTED_CAPS

DOC = Path(__file__).resolve().parents[2] / "docs" / "ARCHITECTURE.md"


def test_the_capability_table_matches_the_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("#### IRCv3 capabilities offered", 1)[1].split("\n### ", 1)[0]
    listed = set(re.findall(r"^\| `([^`]+)` \|", section, re.MULTILINE))
    assert listed == {*SUPPORTED_CAPS, METADATA, METADATA_3, "draft/multiline", "sasl"}
