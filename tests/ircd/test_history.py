"""History rings: the per-target size, the bound on targets and on messages in all."""

from __future__ import annotations

from pathlib import Path

import pytest

from ircd.config import ConfigError, load_irc_config
from ircd.history import MAX_SIZE, Entry, History
from ircd.protocol import Message


def entry(i: int) -> Entry:
    return Entry(at=float(i), msgid=f"m{i}", message=Message(command="PRIVMSG", params=("#c", "x")))


def test_ring_keeps_the_last_size_messages() -> None:
    h = History(3)
    for i in range(10):
        h.add("#c", entry(i))
    assert [e.msgid for e in h.entries("#c")] == ["m7", "m8", "m9"]
    assert len(h) == 3


def test_least_recently_used_target_goes_first() -> None:
    h = History(5, max_targets=2)
    h.add("#a", entry(1))
    h.add("#b", entry(2))
    h.add("#a", entry(3))
    h.add("#c", entry(4))
    assert h.entries("#b") == [] and h.targets == 2
    assert [e.msgid for e in h.entries("#a")] == ["m1", "m3"]


def test_total_messages_are_bounded() -> None:
    h = History(4, max_targets=100, max_messages=10)
    for i in range(30):
        h.add(f"#{i % 6}", entry(i))
        assert len(h) <= 10
    assert len(h) == sum(len(h.entries(f"#{t}")) for t in range(6))


def test_configure_shrinks_at_once() -> None:
    h = History(10)
    for i in range(50):
        h.add(f"#{i % 5}", entry(i))
    h.configure(2, max_targets=3, max_messages=1000)
    assert h.targets == 3 and len(h) == 6
    h.configure(0, max_targets=3, max_messages=1000)
    assert h.targets == 0 and len(h) == 0
    h.add("#a", entry(1))
    assert len(h) == 0


def test_history_size_is_capped_in_config(tmp_path: Path) -> None:
    path = tmp_path / "irc.yaml"
    path.write_text(f"irc:\n  history_size: {MAX_SIZE + 1}\n")
    with pytest.raises(ConfigError) as info:
        load_irc_config(path)
    assert "irc.history_size: expected an integer 0-1000" in str(info.value)
    path.write_text("irc:\n  history_size: 1000\n  limits: {history_targets: 50}\n")
    assert load_irc_config(path).limits.history_targets == 50
