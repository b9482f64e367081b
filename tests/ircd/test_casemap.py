"""Tests of ircd.casemap."""

from __future__ import annotations

import pytest

from ircd.casemap import ASCII, RFC1459, casefold, folder


def test_rfc1459_folds_scandinavian_brackets() -> None:
    assert casefold("Nick[A]\\~") == "nick{a}|^"
    assert folder(RFC1459)("FOO[") == "foo{"


def test_ascii_folds_letters_only() -> None:
    assert casefold("Nick[A]", ASCII) == "nick[a]"


def test_non_ascii_untouched() -> None:
    assert casefold("ÄÖ", RFC1459) == "ÄÖ"


def test_unknown_mapping() -> None:
    with pytest.raises(KeyError):
        folder("rfc7613")
