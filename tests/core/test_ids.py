"""Ids: prefixed, unique, sortable by creation time."""

from __future__ import annotations

import pytest

from core.ids import has_prefix, new_id


def test_ids_sort_by_time_and_carry_prefix() -> None:
    """Later milliseconds sort later as plain strings; the prefix is kept."""
    earlier, later = (
        new_id("evt", now_ms=1_700_000_000_000),
        new_id("evt", now_ms=1_700_000_000_001),
    )
    assert [earlier, later] == sorted([later, earlier])
    assert has_prefix(earlier, "evt")
    assert not has_prefix(earlier, "dlv")


def test_ids_do_not_collide() -> None:
    """Ten thousand ids in the same millisecond are all different."""
    assert 10_000 == len({new_id("dlv", now_ms=1) for _ in range(10_000)})


def test_unknown_prefix_is_refused() -> None:
    """Only the documented prefixes exist."""
    with pytest.raises(ValueError, match="prefix"):
        new_id("xyz")
