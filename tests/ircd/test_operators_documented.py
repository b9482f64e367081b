"""docs/OPERATORS.md's table for operators coming from InspIRCd, UnrealIRCd or Ergo says
which of their commands exist here: each command it calls present is in the server's
command table, each it calls absent is not, and its snomask letters are ircd.snomask's."""

from __future__ import annotations

import re
from pathlib import Path

from ircd.commands import COMMANDS
from ircd.snomask import DEFAULT, LETTERS

DOC = Path(__file__).resolve().parents[2] / "docs" / "OPERATORS.md"
TITLE = "### What you may be used to in InspIRCd, UnrealIRCd or Ergo, and what this server does"


def table() -> list[tuple[str, str, str]]:
    """The rows of the table: (you may be used to, here, what this server does)."""
    section = DOC.read_text(encoding="utf-8").split(TITLE, 1)[1].split("\n#", 1)[0]
    rows = []
    for line in section.splitlines():
        # Cells split on `|` not escaped as `\|` (inside code spans in the text).
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 3 and cells[1] in ("yes", "no"):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def named_commands(cell: str) -> list[str]:
    """The command names a first cell gives as code: `KLINE`, `GLINE`, not `MODE <nick> +s`."""
    return re.findall(r"`([A-Z]+)`", cell)


def test_the_table_says_which_commands_exist_as_the_command_table_does() -> None:
    rows = table()
    assert len(rows) >= 25, "the table was not found or lost its rows"
    present = [c for used, here, _ in rows if here == "yes" for c in named_commands(used)]
    absent = [c for used, here, _ in rows if here == "no" for c in named_commands(used)]
    assert {"OPER", "KILL", "KLINE", "STATS", "REHASH", "DIE", "SPAMFILTER"} <= set(present)
    assert {"RESTART", "OPERMOTD", "NICKSERV", "CHANSERV"} <= set(absent)
    assert [c for c in present if c not in COMMANDS] == []
    assert [c for c in absent if c in COMMANDS] == []
    # Every operator-only command of the server is in the table (a new one needs a row).
    assert {name for name, spec in COMMANDS.items() if spec.oper_only} <= set(present)


def test_the_snomask_row_gives_the_letters_and_the_default_of_the_code() -> None:
    (what,) = [text for used, _, text in table() if "+s" in used]
    letters = re.findall(r"`([a-zA-Z])` ", what)
    assert sorted(letters) == sorted(LETTERS)
    assert f"`+{DEFAULT}`" in what
