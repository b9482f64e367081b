"""Config values as quoted in problems, bounded in size.

A problem line never carries a whole value: a string may be a megabyte long, and a
list built from YAML aliases ("billion laughs") stands for billions of items that a
`repr` would walk and print. Strings are cut, collections are named, never walked.
"""

from __future__ import annotations

import json
from typing import Final

#: Characters of a value shown in a problem; the rest is counted.
MAX_SHOWN: Final = 60


def shown_text(text: str, *, quote: bool = True) -> str:
    """A string as quoted in a problem ("...", escapes as JSON), cut to MAX_SHOWN characters."""
    if len(text) <= MAX_SHOWN:
        return json.dumps(text) if quote else text
    cut = json.dumps(text[:MAX_SHOWN]) if quote else text[:MAX_SHOWN]
    return f"{cut}... ({len(text)} characters)"


def shown(value: object) -> str:
    """A constructed YAML value as quoted in a problem: never more than a short line."""
    if isinstance(value, str):
        return shown_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return f"a list of {len(value)} items" if value else "an empty list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, int | float):
        return shown_text(f"{value:g}" if isinstance(value, float) else _digits(value), quote=False)
    return f"a {type(value).__name__}"


def _digits(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # more digits than Python converts (sys.int_max_str_digits)
        return "a very long number"
